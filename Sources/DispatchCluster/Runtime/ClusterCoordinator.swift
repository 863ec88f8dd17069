import Logging
import Synchronization

/// This instance's place in the cluster: the lease's state, the members, and the decisions the
/// request path asks of them. The round trips to the lease store run in ``runLease()`` and
/// ``runHeartbeats()`` (``ClusterService``), one ``leaseRound()`` at a time; everything else is
/// a lock, a read of the clock and an unlock. The clock is injected, so the tests drive
/// takeovers with a test clock and a lease store in memory.
///
/// Lock discipline as in `FleetCoordinator`: the state sits in one `Mutex`; each step mutates it
/// under the lock and collects what to do (log, metrics, wake the loop), unlocks, then does it.
public final class ClusterCoordinator<C: Clock>: Sendable where C.Duration == Duration {
    /// Everything guarded by the lock.
    struct Shared: Sendable {
        var lease: LeaseState<C.Instant>
        /// The members seen at the last heartbeat, and when it answered.
        var members: [ClusterMember] = []
        var membersReadAt: C.Instant?
        /// The lease loop's sleep; cancelling it starts the next round trip at once.
        var sleep: Task<Void, Never>?
        /// The role last logged and shown in the metrics.
        var reportedRole: ClusterRole?
        /// Whether the last round trip failed (to log a failure once, and its end once).
        var databaseFailing = false
        /// A leader that still holds the lease but that this instance cannot reach (a forward
        /// to it failed, and it still led after a takeover's wait): requests go to it through
        /// the other members until it answers a question again.
        var unreachableLeader: String?
    }

    /// The lease's timing.
    public let configuration: LeaseConfiguration
    /// The URL the other instances reach this one at.
    public let selfURL: String
    private let lease: any LeaseStore
    private let peerAsking: (any PeerAsking)?
    private let metrics: any ClusterMetrics
    private let clock: C
    private let logger: Logger
    private let shared: Mutex<Shared>

    /// A coordinator that has not been to the database yet (role `electing`).
    /// - Parameter peerAsking: asks the other members who leads while this instance cannot
    ///   reach the database; `nil`: it only waits or decides alone then.
    public init(
        configuration: LeaseConfiguration, lease: any LeaseStore, peerAsking: (any PeerAsking)? = nil, metrics: any ClusterMetrics,
        logger: Logger, clock: C
    ) {
        self.configuration = configuration
        self.clock = clock
        self.selfURL = lease.url
        self.lease = lease
        self.peerAsking = peerAsking
        self.metrics = metrics
        self.logger = logger
        shared = Mutex(Shared(lease: LeaseState(configuration: configuration, identity: lease.identity, url: lease.url)))
    }

    // MARK: - The request path
    // Asked on every pick from the service's module: specialized for the continuous clock there,
    // so a pick does not go through the generic clock's witness tables.

    /// The role at this instant.
    @_specialize(exported: true, where C == ContinuousClock)
    public func role() -> ClusterRole {
        shared.withLock { $0.lease.role(now: clock.now) }
    }

    /// What to do with a pick or a release now.
    @_specialize(exported: true, where C == ContinuousClock)
    public func route() -> ClusterRoute {
        switch role() {
        case .leader(let fencing): .decide(fencing: fencing)
        case .degraded: .decide(fencing: nil)
        case .follower(let leaderURL, _): .forward(leaderURL: leaderURL)
        case .electing: .wait
        }
    }

    /// Whether a decision taken under `fencing` may still be answered: checked after deciding,
    /// so a process frozen between ``route()`` and its decision never answers from a lease
    /// that ended meanwhile (the decision is then undone by the caller).
    @_specialize(exported: true, where C == ContinuousClock)
    public func confirm(fencing: Int64?) -> Bool {
        switch role() {
        case .leader(let current): current == fencing
        case .degraded: fencing == nil
        case .follower, .electing: false
        }
    }

    /// A forward found `leaderURL` unreachable: stop trusting it and go to the database now.
    public func leaderUnreachable(_ leaderURL: String) {
        let sleep = shared.withLock { shared in
            shared.lease.leaderUnreachable(leaderURL, now: clock.now)
            return shared.sleep
        }
        sleep?.cancel()
    }

    /// `leaderURL` still leads after a forward to it failed and a takeover's wait: it is alive,
    /// but not reachable from here (a one-way or partial partition). Until it answers a question
    /// again (``runPeerWatch()`` asks every poll interval), ``isUnreachable(_:)`` says so and the
    /// request path relays through the other members.
    public func leaderIsAliveButUnreachable(_ leaderURL: String) {
        let changed = shared.withLock { shared in
            defer { shared.unreachableLeader = leaderURL }
            return shared.unreachableLeader != leaderURL
        }
        if changed { logger.warning("cluster: cannot reach the leader \(leaderURL), which still holds the lease; relaying through the other members") }
    }

    /// Whether `leaderURL` was found alive but out of reach from here, and has not answered since.
    public func isUnreachable(_ leaderURL: String) -> Bool {
        shared.withLock { $0.unreachableLeader == leaderURL }
    }

    /// Asks the leader found out of reach whether it answers again; forgets it once it does, or
    /// once another instance leads. ``runPeerWatch()`` calls it every poll interval.
    public func recheckUnreachableLeader() async {
        let leader: String? = shared.withLock { shared in
            guard let unreachable = shared.unreachableLeader else { return nil }
            if case .follower(let current, _) = shared.lease.role(now: clock.now), current == unreachable { return unreachable }
            shared.unreachableLeader = nil
            return nil
        }
        guard let leader, let peerAsking, await peerAsking.view(of: leader) != nil else { return }
        let cleared = shared.withLock { shared in
            defer { if shared.unreachableLeader == leader { shared.unreachableLeader = nil } }
            return shared.unreachableLeader == leader
        }
        if cleared { logger.notice("cluster: the leader \(leader) answers again; forwarding to it directly") }
    }

    /// Waits, at most `timeout`, until the route is neither ``ClusterRoute/wait`` nor a forward
    /// to `avoided` (a leader just found unreachable), looking every 5 ms; returns the route
    /// then, whatever it is. A takeover ends within a lease's ttl and a poll interval.
    public func routeAfterWaiting(atMost timeout: Duration, avoiding avoided: String?) async -> ClusterRoute {
        let deadline = clock.now.advanced(by: timeout)
        var route = route()
        while route == .wait || (avoided != nil && route == .forward(leaderURL: avoided!)),
            clock.now < deadline, !Task.isCancelled {
            try? await clock.sleep(until: clock.now.advanced(by: .milliseconds(5)), tolerance: nil)
            route = self.route()
        }
        return route
    }

    /// The other members' URLs, each once (an instance restarted on the same URL has two rows
    /// until the old one is forgotten), for the reservations sent to them.
    public func peers() -> [String] {
        shared.withLock { shared in
            var seen: Set<String> = [selfURL]
            return shared.members.map(\.url).filter { seen.insert($0).inserted }
        }
    }

    /// Whether `url` is another current member (seen at the last heartbeat that answered, or
    /// holding the lease as last read), and whether it holds the lease: who may send this
    /// instance the members' own calls, and who may release any reservation.
    public func membership(of url: String) -> (isMember: Bool, leads: Bool) {
        shared.withLock { shared in
            guard url != selfURL else { return (false, false) }
            let leads = shared.lease.lastRow.map { $0.holderURL == url && $0.holder != lease.identity } ?? false
            return (leads || shared.members.contains { $0.url == url }, leads)
        }
    }

    /// What `GET /v1/cluster` shows.
    public func status() -> ClusterStatus {
        shared.withLock { shared in
            let now = clock.now
            let role = shared.lease.role(now: now)
            let row = shared.lease.lastRow
            let leaderURL: String? = switch role {
            case .leader: selfURL
            case .follower(let url, _): url
            case .electing, .degraded: nil
            }
            let membersAge = shared.membersReadAt.map { $0.duration(to: now) } ?? .zero
            return ClusterStatus(
                role: role.name, selfURL: selfURL, leaderURL: leaderURL, identity: lease.identity,
                fencing: { if case .follower(_, let fencing) = role { fencing } else { row?.fencing } }(), leaseHolder: row?.holderURL,
                expiresIn: shared.lease.leaseExpiry.map { now.duration(to: $0) },
                // Only while leading: an ended term would show as negative time.
                termEndsIn: { if case .leader = role { shared.lease.termEnd.map { now.duration(to: $0) } } else { nil } }(),
                databaseReachable: !shared.databaseFailing && !shared.lease.isCutOff(now: now),
                members: shared.members.map { member in
                    ClusterStatus.Member(url: member.url, role: member.role, seenAgo: member.seenAgo + membersAge, isSelf: member.id == lease.identity)
                })
        }
    }

    // MARK: - The loops

    /// Runs the lease and membership loops until the task is cancelled.
    public func runLoops() async {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.runLease() }
            group.addTask { await self.runHeartbeats() }
            group.addTask { await self.runPeerWatch() }
            group.addTask { await self.runTicks() }
        }
    }

    /// Ticks the lease's watch every poll interval, in a loop of its own: asking the peers may
    /// take up to their 200 ms bound (a member just killed), and a tick that waited for them
    /// would read as the process having been stopped.
    func runTicks() async {
        while !Task.isCancelled {
            shared.withLock { $0.lease.tick(now: clock.now) }
            try? await clock.sleep(until: clock.now.advanced(by: configuration.pollInterval), tolerance: nil)
        }
    }

    /// Every poll interval: ticks the lease's watch (a gap tells a stopped process from a
    /// database that does not answer) and, while this instance cannot reach the database, asks
    /// the others who leads (``askPeers()``); until the task is cancelled.
    func runPeerWatch() async {
        while !Task.isCancelled {
            await askPeers()
            await recheckUnreachableLeader()
            try? await clock.sleep(until: clock.now.advanced(by: configuration.pollInterval), tolerance: nil)
        }
    }

    /// Ticks the lease's watch (``LeaseState/tick(now:)``); then, when the database is out of
    /// reach (silent for `ttl − safetyMargin`, a round trip failed, or one under way past its
    /// bound), asks every other member last seen who leads, at once, and
    /// follows the highest term one of them reports first hand: a leader cut off from the
    /// database but not from the others then forwards to the new leader instead of waiting for
    /// a lease it cannot read, or deciding alone beside it.
    public func askPeers() async {
        let members: [String]? = shared.withLock { shared in
            shared.lease.tick(now: clock.now)
            guard peerAsking != nil else { return nil }
            guard shared.lease.needsPeers(now: clock.now), !shared.lease.steppedDown else { return nil }
            var seen: Set<String> = [selfURL]
            return shared.members.map(\.url).filter { seen.insert($0).inserted }
        }
        guard let peerAsking, let members, !members.isEmpty else {
            reportRole()
            return
        }
        let views = await withTaskGroup(of: PeerView?.self) { group in
            for member in members { group.addTask { await peerAsking.view(of: member) } }
            var views: [PeerView] = []
            for await view in group { if let view { views.append(view) } }
            return views
        }
        guard let best = views.max(by: { $0.fencing < $1.fencing }) else { return }
        shared.withLock { $0.lease.peerReported(best, now: clock.now) }
        reportRole()
    }

    /// Takes or renews the lease, and follows it, until the task is cancelled (after
    /// ``stepDown()`` it only reads it): one ``leaseRound()`` at a time, due as
    /// ``LeaseState/nextAttemptDue(now:)`` says.
    func runLease() async {
        while !Task.isCancelled {
            let wait: Task<Void, Never>? = shared.withLock { shared in
                guard let due = shared.lease.nextAttemptDue(now: clock.now) else { return nil }
                let clock = clock
                let sleep = Task<Void, Never> { try? await clock.sleep(until: due, tolerance: nil) }
                shared.sleep = sleep
                return sleep
            }
            guard let wait else { return }
            await withTaskCancellationHandler { await wait.value } onCancel: { wait.cancel() }
            if Task.isCancelled { return }
            await leaseRound()
        }
    }

    /// One round trip to the lease store: takes or renews the lease (only reads it after
    /// ``stepDown()``), applies the answer or the failure to the lease's state, and reports the
    /// role.
    public func leaseRound() async {
        let steppedDown = shared.withLock { shared in
            shared.sleep = nil
            shared.lease.startAttempt(now: clock.now)
            return shared.lease.steppedDown
        }
        do {
            let row = try await steppedDown ? lease.read() : lease.takeOrRenew(ttl: configuration.ttl)
            shared.withLock { _ = $0.lease.attemptSucceeded(row, now: clock.now) }
            noteDatabase(error: nil)
        } catch {
            shared.withLock { _ = $0.lease.attemptFailed(now: clock.now) }
            noteDatabase(error: error)
        }
        reportRole()
    }

    /// Writes this instance's membership row and reads the others', every `memberInterval`,
    /// until the task is cancelled or ``stepDown()`` (which removes the row). A failed heartbeat
    /// keeps the last list.
    func runHeartbeats() async {
        while !Task.isCancelled, !shared.withLock({ $0.lease.steppedDown }) {
            await heartbeatRound()
            try? await clock.sleep(until: clock.now.advanced(by: configuration.memberInterval), tolerance: nil)
        }
    }

    /// One heartbeat: writes this instance's membership row and reads the members (the last
    /// list is kept when it fails).
    public func heartbeatRound() async {
        let roleName = role().name
        if let members = try? await lease.heartbeat(role: roleName, timeout: configuration.memberTimeout) {
            shared.withLock { shared in
                shared.members = members
                shared.membersReadAt = clock.now
            }
        }
        reportRole()
    }

    /// Stops deciding at once and for good, ends the term in the database so another instance
    /// takes over without waiting for it to lapse, and removes this member's row. For graceful
    /// shutdown, before the HTTP server drains: the lease loop goes on reading the lease, so
    /// what the server still answers is forwarded to the next leader.
    public func stepDown() async {
        let fencing = shared.withLock { shared in
            let fencing = shared.lease.stepDown(now: clock.now)
            shared.sleep?.cancel()
            return fencing
        }
        if let fencing {
            logger.info("cluster: stepping down, ending lease term \(fencing)")
            try? await lease.release(fencing: fencing)
        }
        try? await lease.leave()
        reportRole()
    }

    /// Closes the lease's connections.
    public func close() async {
        await lease.close()
    }

    /// Logs a change of role once, and sets the role metrics. Called after every round trip and
    /// heartbeat, and at every scrape of `/metrics` (a role can change with time alone: a term
    /// that ends, a database silent for too long).
    public func reportRole() {
        let change: (from: ClusterRole?, to: ClusterRole, cutOff: Bool)? = shared.withLock { shared in
            let role = shared.lease.role(now: clock.now)
            guard role != shared.reportedRole else { return nil }
            defer { shared.reportedRole = role }
            return (shared.reportedRole, role, shared.lease.isCutOff(now: clock.now))
        }
        guard let change else { return }
        metrics.setClusterRole(change.to.name, fencing: { if case .leader(let f) = change.to { f } else { nil } }())
        switch change.to {
        case .leader(let fencing):
            logger.notice("cluster: this instance leads (lease term \(fencing)); picks and releases are decided here")
        case .follower(let leaderURL, let fencing):
            if change.cutOff {
                logger.warning("cluster: PostgreSQL is out of reach; following \(leaderURL) (lease term \(fencing)), as the other members report it; picks and releases are forwarded to it")
            } else {
                logger.info("cluster: following \(leaderURL) (lease term \(fencing)); picks and releases are forwarded to it")
            }
        case .electing:
            if change.from != nil { logger.info("cluster: no instance leads; the lease is taken when it lapses") }
        case .degraded:
            logger.warning("cluster: degraded: PostgreSQL has not answered for \(configuration.ttl - configuration.safetyMargin); this instance decides alone until it does")
        }
    }

    /// Logs the first failure of a run of failed round trips, and its end.
    private func noteDatabase(error: (any Error)?) {
        let (failingBefore, failingNow) = shared.withLock { shared in
            defer { shared.databaseFailing = error != nil }
            return (shared.databaseFailing, error != nil)
        }
        if failingNow, !failingBefore, let error {
            logger.warning("cluster: the lease's round trip to PostgreSQL failed: \(error)")
        } else if !failingNow, failingBefore {
            logger.notice("cluster: PostgreSQL answers the lease's round trips again")
        }
    }
}
