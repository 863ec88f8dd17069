/// The arrival times of an open-loop load: arrivals at a fixed rate for a fixed time, each with an
/// intended start measured from the start of the run.
///
/// Latency in an open loop is measured from an arrival's *intended* start, not from when the
/// generator got round to sending it: if the system under test stalls, the arrivals that should
/// have gone out during the stall carry the stall in their latency, instead of being silently
/// delayed (coordinated omission).
public struct OpenLoopSchedule: Sendable, Equatable {
    /// Arrivals per second.
    public var ratePerSecond: Double
    /// How long arrivals keep coming.
    public var duration: Duration

    /// A schedule of `ratePerSecond` arrivals a second for `duration`.
    public init(ratePerSecond: Double, duration: Duration) {
        precondition(ratePerSecond > 0, "rate must be positive")
        self.ratePerSecond = ratePerSecond
        self.duration = duration
    }

    /// How many arrivals the schedule holds: ⌊rate × duration⌋ (at least 1).
    public var count: Int {
        max(1, Int((ratePerSecond * duration.seconds).rounded(.down)))
    }

    /// When arrival `index` (from 0) should start, from the start of the run: index / rate.
    public func intendedOffset(of index: Int) -> Duration {
        .nanoseconds(Int64((Double(index) * 1e9 / ratePerSecond).rounded()))
    }

    /// How many arrivals should have started once `elapsed` has passed: ⌊elapsed × rate⌋ + 1,
    /// at most ``count`` (0 before the start).
    public func arrivalsDue(after elapsed: Duration) -> Int {
        guard elapsed >= .zero else { return 0 }
        return min(count, Int((elapsed.seconds * ratePerSecond).rounded(.down)) + 1)
    }
}

extension Duration {
    /// This duration in seconds as a `Double`.
    public var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }

    /// This duration in milliseconds as a `Double`.
    public var milliseconds: Double { seconds * 1000 }
}
