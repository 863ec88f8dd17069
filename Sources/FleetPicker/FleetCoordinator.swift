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
/// cancelled pick does not cancel a probe others wait for. Picks wait for probes only when no
/// usable reading exists: ``runBackgroundProbes()`` refreshes every server ahead of the picks
/// on ``FleetState``'s schedule, and probes down servers. Probes rely on the prober returning
/// within its timeout (see ``FleetProbing``).
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
        /// When the background loop wakes next, while it sleeps.
        var loopWake: C.Instant?
        /// The background loop's sleep; cancelling it wakes the loop early.
        var loopSleep: Task<Void, Never>?

        /// Wakes the background loop when `due` comes before its own wake-up: a probe's answer,
        /// a list change or a report scheduled a probe it does not know of. Cancelling the sleep
        /// only ends that one task; the loop plans again at once.
        mutating func wakeLoop(ifDueBefore due: C.Instant?) {
            guard let due, let wake = loopWake, due < wake else { return }
            loopWake = nil
            loopSleep?.cancel()
        }
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
        var random = random
        let fleet = FleetState<C.Instant>(configuration: configuration, scheduleSeed: random.next())
        self.shared = Mutex(Shared(fleet: fleet, random: random))
    }

    /// Uses `urls` as the fleet list from the next pick on; a comparison when nothing changed.
    ///
    /// Servers that stay keep their state and reservations; see ``FleetState/setServers(_:)``.
    /// A server new to the list is refreshed at once by the background loop.
    public func setServers(_ urls: [String]) {
        shared.withLock { shared in
            guard shared.fleet.setServers(urls) else { return }
            let now = clock.now
            for url in urls { shared.wakeLoop(ifDueBefore: shared.fleet.backgroundDue(of: url, now: now)) }
        }
    }

    /// Uses `urls` and the operators' `states` (``FleetState/setOperatorStates(_:now:)``)
    /// together, under one lock, so no pick sees a server of the new list without its state; the
    /// background loop wakes for a new server or a schedule that changed (into or out of
    /// maintenance).
    /// - Returns: The servers whose operator state changed.
    @discardableResult
    public func setServers(_ urls: [String], operatorStates states: [String: OperatorState]) -> [OperatorStateChange] {
        shared.withLock { shared in
            let now = clock.now
            let listChanged = shared.fleet.setServers(urls)
            let changes = shared.fleet.setOperatorStates(states, now: now)
            for url in listChanged ? urls : changes.map(\.server) {
                shared.wakeLoop(ifDueBefore: shared.fleet.backgroundDue(of: url, now: now))
            }
            return changes
        }
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

    /// Drops a reservation because its dialout did not happen, and learns from why (see
    /// ``FleetState/release(reservationID:reason:now:)``): a `busy` or `failed` server is held
    /// back and probed at once, by the background loop.
    /// - Returns: `false` for an unknown identity, so the API can answer 404.
    public func release(reservationID: String, reason: ReleaseReason = .notPlaced) -> Bool {
        let result: ReleaseResult? = shared.withLock { shared in
            let now = clock.now
            let result = shared.fleet.release(reservationID: reservationID, reason: reason, now: now)
            if let result, reason != .notPlaced {
                shared.wakeLoop(ifDueBefore: shared.fleet.backgroundDue(of: result.server, now: now))
            }
            return result
        }
        if let change = result?.change {
            observer(.stateChanged(server: change.server, from: change.from, to: change.to, reason: change.reason))
        }
        if let result, let cap = result.capped {
            observer(.reportCapped(server: result.server, cap: cap))
        }
        return result != nil
    }

    /// Takes on reservations another decider made, `(identity, server)` each (see
    /// ``FleetState/adoptReservation(id:server:now:)``), under one lock.
    /// - Returns: How many were new to this instance.
    @discardableResult
    public func adoptReservations(_ reservations: [(id: String, server: String)], from origin: String? = nil) -> Int {
        shared.withLock { shared in
            let now = clock.now
            return reservations.reduce(0) { count, reservation in
                count + (shared.fleet.adoptReservation(id: reservation.id, server: reservation.server, origin: origin, now: now) ? 1 : 0)
            }
        }
    }

    /// Applies a release a cluster member sent, if that member made the reservation or leads
    /// (``FleetState/release(reservationID:reason:from:memberLeads:now:)``).
    public func release(reservationID: String, reason: ReleaseReason, from member: String, memberLeads: Bool) -> MemberReleaseOutcome {
        let outcome: MemberReleaseOutcome = shared.withLock { shared in
            let now = clock.now
            let outcome = shared.fleet.release(reservationID: reservationID, reason: reason, from: member, memberLeads: memberLeads, now: now)
            if case .released(let result) = outcome, reason != .notPlaced {
                shared.wakeLoop(ifDueBefore: shared.fleet.backgroundDue(of: result.server, now: now))
            }
            return outcome
        }
        if case .released(let result) = outcome {
            if let change = result.change {
                observer(.stateChanged(server: change.server, from: change.from, to: change.to, reason: change.reason))
            }
            if let cap = result.capped { observer(.reportCapped(server: result.server, cap: cap)) }
        }
        return outcome
    }

    /// The servers in list order, as `GET /v1/fleet` shows them.
    public func snapshot() -> [ServerSnapshot<C.Instant>] {
        shared.withLock { shared in
            // Expired reservations are dropped first, so a quiet fleet does not show old ones.
            shared.fleet.expireReservations(now: clock.now)
            return shared.fleet.snapshot()
        }
    }

    /// Runs the background probes until the calling task is cancelled: refreshes every server
    /// that is not down ahead of the picks, and probes down servers every `downInterval`
    /// (jittered ±10 %); see ``FleetState/backgroundProbes(now:random:)``.
    ///
    /// Run it once, in a task of its own (a service of the application's service group). It
    /// sleeps until the next probe falls due; a probe's answer, a list change or a `busy` or
    /// `failed` report that schedules an earlier one wakes it. With nothing scheduled it looks
    /// again every `downInterval`. It returns as soon as cancellation interrupts its sleep;
    /// probes already started finish on their own within the prober's timeout.
    public func runBackgroundProbes() async {
        while !Task.isCancelled {
            let sleep: Task<Void, Never> = shared.withLock { shared in
                let now = clock.now
                let plan = shared.fleet.backgroundProbes(now: now, random: &shared.random)
                for server in plan.probe {
                    _ = launchProbe(of: server, startedAt: now, in: &shared)
                }
                let wake = plan.nextDue ?? now.advanced(by: configuration.downInterval)
                // A task of its own, so that waking the loop early cancels the sleep, not the loop.
                let clock = self.clock
                let sleep = Task<Void, Never> { _ = try? await clock.sleep(until: wake, tolerance: nil) }
                shared.loopWake = wake
                shared.loopSleep = sleep
                return sleep
            }
            await withTaskCancellationHandler {
                await sleep.value
            } onCancel: {
                sleep.cancel()
            }
        }
        shared.withLock { shared in
            shared.loopWake = nil
            shared.loopSleep = nil
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
            shared.wakeLoop(ifDueBefore: shared.fleet.backgroundDue(of: server, now: now))
            return (change, startedAt.duration(to: now))
        }
        observer(.probeFinished(server: server, result: result, latency: latency))
        if let change {
            observer(.stateChanged(server: change.server, from: change.from, to: change.to, reason: change.reason))
        }
    }
}
