import Synchronization

/// Turns ``FleetState``'s decisions into probes: the object the HTTP layer calls on every dialout.
///
/// It lives in FleetPicker, behind the small ``FleetProbing`` protocol, rather than in the
/// executable, so that single flight, joining and background scheduling (the parts that go wrong
/// under concurrency) are tested with a fake prober and a mock clock, without sockets.
///
/// Lock discipline: all state sits in one `Mutex`; each step mutates it under the lock, collects
/// what to do, unlocks, and only then awaits probes. The lock is never held across an await.
/// When every reading is fresh a pick is one lock, one pass over the servers, one unlock: no task
/// is spawned.
///
/// Probes run as unstructured tasks shared by every pick that needs them (single flight), so a
/// cancelled pick does not cancel a probe others wait for. The coordinator has no timer of its
/// own: it relies on the prober returning within its timeout (see ``FleetProbing``).
public final class FleetCoordinator<C: Clock>: Sendable where C.Duration == Duration {
    /// A probe under way, so later picks can await the same one.
    struct Flight: Sendable {
        var startedAt: C.Instant
        var task: Task<Void, Never>
    }

    /// Everything guarded by the lock.
    struct Shared: Sendable {
        var fleet: FleetState<C.Instant>
        var random: FleetRandomSource
        /// The newest probe under way per server.
        var flights: [String: Flight] = [:]
    }

    /// What a pick does after leaving the lock.
    enum PickStep: Sendable {
        case decided(PickOutcome)
        case wait([Task<Void, Never>])
    }

    /// A pick re-plans after its probes answer, in case the list changed meanwhile; past this
    /// many rounds it decides with what it has, so a list changing without pause cannot stall it.
    static var maximumRounds: Int { 4 }

    /// The rules in force.
    public let configuration: FleetPickerConfiguration
    private let prober: any FleetProbing
    private let clock: C
    private let observer: @Sendable (FleetEvent) -> Void
    private let shared: Mutex<Shared>

    /// Creates a coordinator with an empty fleet list.
    ///
    /// - Parameters:
    ///   - configuration: The picker's rules.
    ///   - prober: Probes one server; must return within its own timeout.
    ///   - clock: Measures freshness, reservations and background periods (`ContinuousClock` in
    ///     production, a mock in tests).
    ///   - random: Breaks ties, makes reservation identities and jitters background probes; seed
    ///     it to repeat a run exactly.
    ///   - observer: Called, outside the lock, for every state change and finished probe; keep it
    ///     quick (it runs on the probing task).
    public init(
        configuration: FleetPickerConfiguration = .init(),
        prober: some FleetProbing,
        clock: C,
        random: FleetRandomSource = FleetRandomSource(),
        observer: @escaping @Sendable (FleetEvent) -> Void = { _ in }
    ) {
        self.configuration = configuration
        self.prober = prober
        self.clock = clock
        self.observer = observer
        self.shared = Mutex(Shared(fleet: FleetState(configuration: configuration), random: random))
    }

    /// Uses `urls` as the fleet list from the next pick on; a comparison when nothing changed.
    ///
    /// Servers that stay keep their state and reservations; see ``FleetState/setServers(_:)``.
    public func setServers(_ urls: [String]) {
        shared.withLock { _ = $0.fleet.setServers(urls) }
    }

    /// Picks the server with the most available capacity and reserves one call on it.
    ///
    /// Probes the servers whose readings are not fresh (joining probes already under way) and
    /// waits for them, then decides; with fresh readings it decides at once.
    /// - Parameter excluding: List entries the caller will not use (already normalised).
    public func pick(excluding: Set<String> = []) async -> PickOutcome {
        var arrival: C.Instant?
        var round = 0
        while true {
            let step: PickStep = shared.withLock { shared in
                let now = clock.now
                let arrivedAt = arrival ?? now
                arrival = arrivedAt
                // Past the round limit, decide without planning: planning marks the probes it
                // asks for as in flight, and a probe planned but never launched would leave a
                // mark that no answer ever clears.
                if round >= Self.maximumRounds {
                    return .decided(
                        shared.fleet.pick(excluding: excluding, arrivedAt: arrivedAt, now: now, random: &shared.random)
                    )
                }
                let plan = shared.fleet.planProbes(excluding: excluding, arrivedAt: arrivedAt, now: now)
                if plan.isEmpty {
                    return .decided(
                        shared.fleet.pick(excluding: excluding, arrivedAt: arrivedAt, now: now, random: &shared.random)
                    )
                }
                var tasks: [Task<Void, Never>] = []
                tasks.reserveCapacity(plan.probe.count + plan.join.count)
                for server in plan.probe {
                    tasks.append(launchProbe(of: server, startedAt: now, in: &shared))
                }
                for server in plan.join {
                    if let flight = shared.flights[server] { tasks.append(flight.task) }
                }
                return .wait(tasks)
            }
            switch step {
            case .decided(let outcome):
                return outcome
            case .wait(let tasks):
                for task in tasks { await task.value }
            }
            round += 1
        }
    }

    /// Picks as ``pick(excluding:)`` does when it can decide without waiting, or returns `nil`
    /// when some reading is stale and the pick must wait for probes.
    ///
    /// For callers that cannot suspend, such as a channel handler on an event loop: on `nil`
    /// they hand the pick to ``pick(excluding:)``, which probes. This method never starts a
    /// probe itself, so handing over does not probe twice.
    /// - Parameter excluding: List entries the caller will not use (already normalised).
    public func pickWithoutWaiting(excluding: Set<String> = []) -> PickOutcome? {
        shared.withLock { shared in
            let now = clock.now
            guard !shared.fleet.needsProbes(excluding: excluding, arrivedAt: now) else { return nil }
            return shared.fleet.pick(excluding: excluding, arrivedAt: now, now: now, random: &shared.random)
        }
    }

    /// Drops a reservation because its dialout did not happen.
    /// - Returns: `false` for an unknown identity, so the API can answer 404.
    public func release(reservationID: String) -> Bool {
        shared.withLock { $0.fleet.release(reservationID: reservationID, now: clock.now) }
    }

    /// The servers in list order, as `GET /v1/fleet` shows them.
    public func snapshot() -> [ServerSnapshot<C.Instant>] {
        shared.withLock { shared in
            // Expired reservations are dropped first, so a quiet fleet does not show old ones.
            shared.fleet.expireReservations(now: clock.now)
            return shared.fleet.snapshot()
        }
    }

    /// Probes down servers every `downInterval` (jittered ±10 %, see
    /// ``FleetState/backgroundProbes(now:random:)``) until the calling task is cancelled.
    ///
    /// Run it once, in a task of its own (a service of the application's service group). It
    /// returns as soon as cancellation interrupts its sleep; probes already started finish on
    /// their own within the prober's timeout. With no server down it looks again every
    /// `downInterval`, so a server that just went down waits at most about two periods.
    public func runBackgroundProbes() async {
        while !Task.isCancelled {
            let wake: C.Instant = shared.withLock { shared in
                let now = clock.now
                let plan = shared.fleet.backgroundProbes(now: now, random: &shared.random)
                for server in plan.probe {
                    _ = launchProbe(of: server, startedAt: now, in: &shared)
                }
                return plan.nextDue ?? now.advanced(by: configuration.downInterval)
            }
            do {
                try await clock.sleep(until: wake, tolerance: nil)
            } catch {
                return
            }
        }
    }

    /// Starts a probe the fleet state has already marked as in flight from `startedAt`, and
    /// registers it so later picks can join it. Called under the lock: creating a task only
    /// enqueues it, and the task takes the lock itself only after the probe returns.
    private func launchProbe(of server: String, startedAt: C.Instant, in shared: inout Shared) -> Task<Void, Never> {
        let task = Task {
            await self.runProbe(of: server, startedAt: startedAt)
        }
        shared.flights[server] = Flight(startedAt: startedAt, task: task)
        return task
    }

    /// Probes, records the result under the lock, then tells the observer outside it.
    private func runProbe(of server: String, startedAt: C.Instant) async {
        let result = await prober.probe(server: server)
        let (change, latency): (StateChange?, Duration) = shared.withLock { shared in
            let now = clock.now
            let change = shared.fleet.recordProbe(server: server, startedAt: startedAt, finishedAt: now, result: result)
            if shared.flights[server]?.startedAt == startedAt { shared.flights[server] = nil }
            return (change, startedAt.duration(to: now))
        }
        observer(.probeFinished(server: server, result: result, latency: latency))
        if let change {
            observer(.stateChanged(server: change.server, from: change.from, to: change.to, reason: change.reason))
        }
    }
}
