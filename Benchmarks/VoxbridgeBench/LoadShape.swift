import LoadKit
import Synchronization

/// How a scenario sends its dialouts.
enum LoadShape: Sendable, CustomStringConvertible {
    /// Arrivals at a fixed rate (open loop; latency from each arrival's intended time).
    case open(ratePerSecond: Double, duration: Duration)
    /// `callers` concurrent callers, each starting its next dialout when the last ends.
    case closed(callers: Int, duration: Duration)
    /// `size` dialouts at the same instant, `rounds` times, the sim reset between rounds and
    /// `gap` apart (so that the dispatcher's reservations of one round have settled).
    case burst(size: Int, rounds: Int, gap: Duration)
    /// No dialouts at all for `duration`: what the dispatcher costs the fleet while nobody calls.
    case idle(duration: Duration)

    var description: String {
        switch self {
        case .open(let rate, let duration): "open loop, \(Int(rate)) dialouts/s for \(Int(duration.seconds)) s"
        case .closed(let callers, let duration): "closed loop, \(callers) callers for \(Int(duration.seconds)) s"
        case .burst(let size, let rounds, _): "\(size) dialouts at once, \(rounds) rounds"
        case .idle(let duration): "no dialouts for \(Int(duration.seconds)) s"
        }
    }

    /// How many dialouts the shape plans (`nil` for a closed loop, which runs until its time).
    var plannedDialouts: Int? {
        switch self {
        case .open(let rate, let duration): OpenLoopSchedule(ratePerSecond: rate, duration: duration).count
        case .closed: nil
        case .burst(let size, let rounds, _): size * rounds
        case .idle: 0
        }
    }

    /// The nominal measuring time (for the progress line).
    var nominalDuration: Duration {
        switch self {
        case .open(_, let duration), .closed(_, let duration), .idle(let duration): duration
        case .burst(_, let rounds, let gap): gap * rounds
        }
    }
}

/// Runs a load shape: calls `dialout(intendedStart)` for each dialout, bounded in count and time.
enum LoadDriver {
    /// Most dialouts in flight at once in an open loop; an arrival beyond it waits for a slot
    /// (and its latency, counted from its intended time, shows the wait).
    static let maxInFlight = 512
    /// After the nominal time, how long dialouts in flight may take to finish before they are
    /// cancelled (each request also has its own timeout).
    static let drainLimit: Duration = .seconds(10)

    /// Runs the shape; `beforeRound` runs before each burst round (the sim reset).
    /// - Returns: the measured time from the first arrival to the last completion.
    static func run(
        _ shape: LoadShape,
        beforeRound: @escaping @Sendable (Int) async -> Void = { _ in },
        dialout: @escaping @Sendable (ContinuousClock.Instant) async -> Void
    ) async -> Duration {
        let start = ContinuousClock.now + .milliseconds(20)
        let hardDeadline = start + shape.nominalDuration + drainLimit
        await withTaskGroup(of: Void.self) { outer in
            outer.addTask {
                switch shape {
                case .open(let rate, let duration):
                    await openLoop(OpenLoopSchedule(ratePerSecond: rate, duration: duration), start: start, dialout: dialout)
                case .closed(let callers, let duration):
                    await closedLoop(callers: callers, until: start + duration, dialout: dialout)
                case .burst(let size, let rounds, let gap):
                    for round in 0..<rounds {
                        let roundStart = start + gap * round
                        try? await Task.sleep(until: roundStart, clock: .continuous)
                        await beforeRound(round)
                        let instant = ContinuousClock.now
                        await withDiscardingTaskGroup { group in
                            for _ in 0..<size { group.addTask { await dialout(instant) } }
                        }
                    }
                case .idle(let duration):
                    try? await Task.sleep(until: start + duration, clock: .continuous)
                }
            }
            outer.addTask {
                // The bound on the whole run: cancels whatever is still in flight.
                try? await Task.sleep(until: hardDeadline, clock: .continuous)
            }
            await outer.next()
            outer.cancelAll()
        }
        return ContinuousClock.now - start
    }

    private static func openLoop(
        _ schedule: OpenLoopSchedule, start: ContinuousClock.Instant,
        dialout: @escaping @Sendable (ContinuousClock.Instant) async -> Void
    ) async {
        let inFlight = InFlightCounter()
        await withDiscardingTaskGroup { group in
            var next = 0
            while next < schedule.count, !Task.isCancelled {
                let due = schedule.arrivalsDue(after: ContinuousClock.now - start)
                while next < due, !Task.isCancelled {
                    if inFlight.value.load(ordering: .relaxed) >= maxInFlight {
                        try? await Task.sleep(for: .milliseconds(1))
                        continue
                    }
                    let intended = start + schedule.intendedOffset(of: next)
                    inFlight.value.add(1, ordering: .relaxed)
                    group.addTask {
                        await dialout(intended)
                        inFlight.value.subtract(1, ordering: .relaxed)
                    }
                    next += 1
                }
                if next < schedule.count {
                    try? await Task.sleep(until: start + schedule.intendedOffset(of: next), clock: .continuous)
                }
            }
        }
    }

    private static func closedLoop(
        callers: Int, until end: ContinuousClock.Instant,
        dialout: @escaping @Sendable (ContinuousClock.Instant) async -> Void
    ) async {
        await withDiscardingTaskGroup { group in
            for _ in 0..<callers {
                group.addTask {
                    // Bounded in count too: at most one dialout a millisecond per caller.
                    var remaining = Int((end - ContinuousClock.now).seconds * 1000) + 1
                    while ContinuousClock.now < end, remaining > 0, !Task.isCancelled {
                        remaining -= 1
                        await dialout(ContinuousClock.now)
                    }
                }
            }
        }
    }
}

/// Dialouts in flight in an open loop.
private final class InFlightCounter: Sendable {
    let value = Atomic<Int>(0)
}
