/// One instance's view of the cluster's lease: whether it leads, whom it follows, or whether it
/// decides alone; and when to go to the database next.
///
/// A value type with no I/O and no clock of its own, like `FleetState`: every method takes the
/// instant, so the tests drive it with a mock clock. The driver (``PostgresLease`` in production)
/// runs the round trips it asks for and reports each answer or failure back.
///
/// Safety rests on one rule. A lease taken or renewed by a round trip that *started* at `t` is
/// trusted locally until `t + ttl − safetyMargin`. The database stamps the expiry `ttl` after it
/// ran the statement, which is after `t`, and hands the lease to another instance only once that
/// expiry has passed by its own clock. So this instance stops deciding before any other can
/// start, whatever the network or the database took, and a process frozen past its deadline
/// finds the lease gone when it resumes: ``role(now:)`` reads the clock on every call, so the
/// first decision it is asked for after resuming is refused.
public struct LeaseState<Instant: InstantProtocol>: Sendable where Instant.Duration == Duration {
    /// The timing in force.
    public let configuration: LeaseConfiguration
    /// This instance's identity in the lease row: unique per process start.
    public let identity: String
    /// The URL the others reach this instance at.
    public let url: String

    /// The lease this instance holds: its fencing number and the end of its term, by this
    /// instance's clock.
    private(set) var held: (fencing: Int64, until: Instant)?
    /// The lease as last read (held by anyone), and until when this instance trusts that
    /// holder to be alive.
    private(set) var observed: (row: LeaseRow, until: Instant)?
    /// When the last answer from the database arrived (the first instant known to the state
    /// stands in until then, so that a database down from the start still ends in `degraded`).
    private var lastAnswer: Instant?
    /// The start of the last round trip that failed: evidence that the database is out of
    /// reach only while it is recent (see ``role(now:)``).
    private var lastFailureStart: Instant?
    /// The leader another member reported while this instance could not reach the database,
    /// trusted until `until` (never past what that member trusted it for).
    private(set) var relayed: (leaderURL: String, fencing: Int64, until: Instant)?
    /// Until when the other members still saw this instance's own lease (by their account, plus
    /// a ttl: one of them takes it at its next poll, and the next answers may be slow): a
    /// takeover is coming, so this instance waits for it rather than deciding alone.
    private var takeoverExpected: Instant?
    /// When the start of the last failed round trip was, and when it failed.
    private var lastFailureEnd: Instant?
    /// The last tick of the coordinator's watch loop (every poll interval), and the first tick
    /// after a gap of more than three: the process was stopped (or starved) meanwhile, and what
    /// was under way before it proves nothing about the database.
    private var lastTick: Instant?
    private var resumedAt: Instant?
    /// The first instant this state was told.
    private var origin: Instant?
    /// The start of the round trip under way.
    private var attemptStart: Instant?
    /// When the next round trip is due.
    private var nextAttempt: Instant?
    /// Stepped down for good: the process is stopping and never leads again; it still follows
    /// the lease (reading it, never taking it), so the requests it drains reach the next leader.
    public private(set) var steppedDown = false

    /// A state that has not been to the database yet.
    public init(configuration: LeaseConfiguration = .init(), identity: String, url: String) {
        self.configuration = configuration
        self.identity = identity
        self.url = url
    }

    /// What this instance does with a request at `now`.
    ///
    /// - `leader`: it holds the lease and its term has not ended.
    /// - `degraded`: the database has not answered for `ttl − safetyMargin`, so any lease this
    ///   instance held has ended and it cannot learn of another, and a round trip started within
    ///   the last `ttl` failed. That second condition is what keeps a process that was frozen
    ///   (SIGSTOP, a long pause) from deciding alone when it resumes: its silence is its own, not
    ///   the database's, and until a fresh round trip fails it only waits.
    /// - `follower`: another instance holds a lease that has not run out.
    /// - `electing`: otherwise (the lease lapsed, or is this instance's own after its term).
    /// - `follower` of a relayed leader: the database has been silent that long, but another
    ///   member that reaches it reported a leader (``peerReported(_:now:)``), whose term has not
    ///   run out by that member's account. Forwarding is safe whoever leads (the leader decides
    ///   under its own term), so this comes before deciding alone.
    public func role(now: Instant) -> ClusterRole {
        if !steppedDown, let held, now < held.until { return .leader(fencing: held.fencing) }
        if isCutOff(now: now) {
            if let relayed, now < relayed.until { return .follower(leaderURL: relayed.leaderURL, fencing: relayed.fencing) }
            if let takeoverExpected, now < takeoverExpected { return .electing }
            return outageEvidence(now: now) ? .degraded : .electing
        }
        if let observed, observed.row.holder != identity, now < observed.until {
            return .follower(leaderURL: observed.row.holderURL, fencing: observed.row.fencing)
        }
        return .electing
    }

    /// Whether this instance has seen for itself that the database is out of reach, not merely
    /// silent (a process resumed after SIGSTOP finds it silent too):
    /// - a round trip that started within the last `ttl` failed; or, while the watch loop ticks
    ///   (``tick(now:)``) and for round trips started since it last resumed:
    /// - one failed within the last `ttl`, or
    /// - one has been under way past its bound (a link where nothing passes may not fail for a
    ///   while: a reconnect waits for its connect timeout).
    func outageEvidence(now: Instant) -> Bool {
        if let failed = lastFailureStart, now < failed.advanced(by: configuration.ttl) { return true }
        guard let lastTick, now < lastTick.advanced(by: configuration.pollInterval * 3),
            let since = resumedAt ?? origin
        else { return false }
        if let failed = lastFailureStart, failed >= since, let ended = lastFailureEnd, now < ended.advanced(by: configuration.ttl) {
            return true
        }
        if let attemptStart, attemptStart >= since, attemptStart.advanced(by: configuration.attemptTimeout) <= lastTick { return true }
        return false
    }

    /// The watch loop ran at `now` (every poll interval): a gap of more than three intervals
    /// since the last tick means the process was stopped or starved meanwhile.
    public mutating func tick(now: Instant) {
        if origin == nil { origin = now }
        if let lastTick, lastTick.advanced(by: configuration.pollInterval * 3) < now { resumedAt = now }
        lastTick = now
    }

    /// Whether the database has not answered for `ttl − safetyMargin`: any term this instance
    /// held is over, and what it knows of the lease is too old to follow.
    public func isCutOff(now: Instant) -> Bool {
        guard let since = lastAnswer ?? origin else { return false }
        return since.advanced(by: configuration.ttl - configuration.safetyMargin) <= now
    }

    /// Whether to ask the other members who leads: cut off, or a round trip under way for
    /// longer than its bound (on a link where nothing passes it may not fail for a while).
    public func needsPeers(now: Instant) -> Bool {
        let failedSinceAnswer = lastFailureStart.map { failed in lastAnswer.map { failed > $0 } ?? true } ?? false
        return isCutOff(now: now) || failedSinceAnswer || attemptStart.map { $0.advanced(by: configuration.attemptTimeout) <= now } == true
    }

    /// Takes on the leader another member reports first hand, while this instance cannot reach
    /// the database: trusted for what that member trusts it, at most a ttl. A report of this
    /// instance itself (its term is over) or of a term older than one already known is ignored.
    ///
    /// A report of this instance's own lease (the others still see it; its term here is over
    /// already) says a takeover is coming: until that lease lapses by their account, plus a
    /// ttl, this instance waits instead of deciding alone.
    public mutating func peerReported(_ view: PeerView, now: Instant) {
        guard view.fencing >= max(observed?.row.fencing ?? 0, relayed?.fencing ?? 0) else { return }
        let validFor = min(view.validFor, configuration.ttl)
        guard view.leaderURL != url else {
            // Also when it lapsed by their account: nobody has taken it yet, someone will.
            takeoverExpected = now.advanced(by: max(validFor, .zero) + configuration.ttl)
            return
        }
        guard validFor > .zero else { return }
        relayed = (view.leaderURL, view.fencing, now.advanced(by: validFor))
    }

    /// The last lease row read, if any.
    public var lastRow: LeaseRow? { observed?.row }

    /// When the lease last read runs out, by this instance's clock (its holder's term may be
    /// renewed meanwhile).
    public var leaseExpiry: Instant? { observed?.until }

    /// When this instance's own term ends, while it holds the lease.
    public var termEnd: Instant? { held?.until }

    /// When the next round trip is due: at once before the first, then every `renewInterval`
    /// while leading and every `pollInterval` otherwise, counted from the last one's start.
    /// `nil` while one is under way. After ``stepDown(now:)`` the round trip only reads the
    /// lease.
    public mutating func nextAttemptDue(now: Instant) -> Instant? {
        if origin == nil { origin = now }
        guard attemptStart == nil else { return nil }
        return nextAttempt ?? now
    }

    /// Starts a round trip: the driver runs "take or renew the lease, and read it" and reports
    /// the result with ``attemptSucceeded(_:now:)`` or ``attemptFailed(now:)``.
    /// - Returns: The fencing number this instance holds, if it holds one (for the log).
    @discardableResult
    public mutating func startAttempt(now: Instant) -> Int64? {
        if origin == nil { origin = now }
        attemptStart = now
        return held?.fencing
    }

    /// Applies the lease row a round trip read at `now`.
    ///
    /// The row's holder is this instance: it leads under the row's fencing number until the
    /// attempt's start plus `ttl − safetyMargin` (never past what the row says is left).
    /// Anyone else: this instance does not lead, and trusts the holder until the row's
    /// remaining time, counted from `now`, has run out.
    /// - Returns: What changed, for the log and the metrics.
    @discardableResult
    public mutating func attemptSucceeded(_ row: LeaseRow, now: Instant) -> LeaseChange? {
        let start = attemptStart ?? now
        attemptStart = nil
        let before = role(now: now)
        lastAnswer = now
        // The database speaks for itself again.
        relayed = nil
        takeoverExpected = nil
        if row.holder == identity, !steppedDown {
            let term = min(configuration.ttl, row.remaining) - configuration.safetyMargin
            held = term > .zero ? (row.fencing, start.advanced(by: term)) : nil
        } else {
            held = nil
        }
        observed = (row, now.advanced(by: max(row.remaining, .zero)))
        nextAttempt = start.advanced(by: held == nil ? configuration.pollInterval : configuration.renewInterval)
        return LeaseChange(from: before, to: role(now: now))
    }

    /// Records a round trip that failed or timed out at `now`: nothing is learned, and the next
    /// one is due after the poll interval (sooner than a renewal, to keep a term that can still
    /// be kept).
    @discardableResult
    public mutating func attemptFailed(now: Instant) -> LeaseChange? {
        let start = attemptStart ?? now
        attemptStart = nil
        let before = role(now: now)
        lastFailureStart = start
        lastFailureEnd = now
        nextAttempt = start.advanced(by: configuration.pollInterval)
        return LeaseChange(from: before, to: role(now: now))
    }

    /// The request path could not reach the leader it was told of: trust that holder no longer
    /// (the next round trip says whether it still holds the lease) and go to the database at
    /// once.
    public mutating func leaderUnreachable(_ leaderURL: String, now: Instant) {
        if relayed?.leaderURL == leaderURL { relayed = nil }
        guard let observed, observed.row.holderURL == leaderURL, observed.row.holder != identity else { return }
        self.observed = (observed.row, now)
        if attemptStart == nil { nextAttempt = now }
    }

    /// Stops leading for good (the process is stopping): from `now` on this instance neither
    /// decides under the lease nor tries to take it; its round trips only read the lease, so it
    /// forwards what it still answers to the next leader.
    /// - Returns: The fencing number of the term given up, so the driver can end it in the
    ///   database at once instead of letting it lapse.
    public mutating func stepDown(now: Instant) -> Int64? {
        let fencing = held.map { now < $0.until ? $0.fencing : nil } ?? nil
        held = nil
        steppedDown = true
        if attemptStart == nil { nextAttempt = now }
        return fencing
    }
}

/// A change of role, as a round trip or a failure caused it.
public struct LeaseChange: Sendable, Hashable {
    /// The role before.
    public var from: ClusterRole
    /// The role after.
    public var to: ClusterRole

    /// `nil` when nothing changed.
    init?(from: ClusterRole, to: ClusterRole) {
        guard from != to else { return nil }
        self.from = from
        self.to = to
    }
}
