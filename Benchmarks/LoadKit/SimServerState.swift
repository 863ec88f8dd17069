/// One simulated fleet server's workers and counters: a value type with no I/O, driven with
/// explicit instants so that tests need no clock.
///
/// Calls end lazily: every operation first frees the workers whose calls have ended by `now`.
public struct SimServerState: Sendable {
    /// What the server was configured with (changeable while it runs).
    public var settings: SimServerSettings
    /// When the server started (or was last reset); the origin of a flapping mode's phases.
    public private(set) var startedAt: ContinuousClock.Instant
    /// End instants of the calls in progress.
    private var callEnds: [ContinuousClock.Instant] = []
    /// Health requests received.
    public private(set) var healthRequests = 0
    /// Dialouts that took a worker.
    public private(set) var dialoutsAccepted = 0
    /// Dialouts answered 429 because every worker was busy.
    public private(set) var dialoutsRejected = 0
    /// Dialouts answered 503 because the server was not `ok` (failing or draining).
    public private(set) var dialoutsRefused = 0
    /// Calls cut off by a restart (``restart(now:down:)``), which a caller sees as a dropped call.
    public private(set) var droppedCalls = 0
    /// End of the current or last restart window; the server answers nothing before it.
    public private(set) var downUntil: ContinuousClock.Instant?

    /// The answer to a `POST /livekit/dialout`.
    public enum DialoutAnswer: Sendable, Equatable {
        /// A worker took the call (200).
        case accepted
        /// Every worker is busy (429).
        case busy
        /// The server is failing or draining (503).
        case unavailable
        /// The server is restarting: no worker runs, so nothing answers.
        case down
    }

    /// What a `GET /health/fleet` should answer now.
    public struct HealthAnswer: Sendable, Equatable {
        /// The effective mode (a flapping server's current phase).
        public var mode: SimMode
        public var workers: Int
        public var activeCalls: Int
        /// Delay before answering.
        public var latency: Duration
    }

    /// A server with `settings.busyAtStart` workers busy with calls that outlast any run.
    public init(settings: SimServerSettings, now: ContinuousClock.Instant) {
        self.settings = settings
        self.startedAt = now
        reset(now: now)
    }

    /// Drops every call and counter and starts again from the settings (busy workers included).
    public mutating func reset(now: ContinuousClock.Instant) {
        startedAt = now
        callEnds = Array(repeating: now + .seconds(86_400), count: min(settings.busyAtStart, settings.workers))
        healthRequests = 0
        dialoutsAccepted = 0
        dialoutsRejected = 0
        dialoutsRefused = 0
        droppedCalls = 0
        downUntil = nil
    }

    /// Restarts the workers, as `systemctl restart voxcore@N` does: every call in progress is
    /// dropped at once (and counted), and for `down` the server answers nothing; afterwards every
    /// worker is free.
    /// - Returns: the calls dropped.
    @discardableResult
    public mutating func restart(now: ContinuousClock.Instant, down: Duration) -> Int {
        expireCalls(now: now)
        let dropped = callEnds.count
        callEnds.removeAll()
        droppedCalls += dropped
        downUntil = now + max(down, .zero)
        return dropped
    }

    /// Whether `now` falls in a restart window: then neither health nor dialout is answered.
    public func isDown(now: ContinuousClock.Instant) -> Bool {
        guard let downUntil else { return false }
        return now < downUntil
    }

    /// Calls in progress at `now`.
    public mutating func activeCalls(now: ContinuousClock.Instant) -> Int {
        expireCalls(now: now)
        return callEnds.count
    }

    /// Counts a health request and says how to answer it.
    public mutating func health(now: ContinuousClock.Instant) -> HealthAnswer {
        expireCalls(now: now)
        healthRequests += 1
        return HealthAnswer(
            mode: settings.mode.effective(after: now - startedAt), workers: settings.workers,
            activeCalls: callEnds.count, latency: settings.healthLatency)
    }

    /// A call arrives that would last `duration`: one worker takes it, or the answer says why not.
    public mutating func dialout(now: ContinuousClock.Instant, duration: Duration) -> DialoutAnswer {
        expireCalls(now: now)
        // Not counted as refused: a client of a stopped service gets no answer to count.
        guard !isDown(now: now) else { return .down }
        guard settings.mode.effective(after: now - startedAt) == .ok else {
            dialoutsRefused += 1
            return .unavailable
        }
        guard callEnds.count < settings.workers else {
            dialoutsRejected += 1
            return .busy
        }
        callEnds.append(now + duration)
        dialoutsAccepted += 1
        return .accepted
    }

    private mutating func expireCalls(now: ContinuousClock.Instant) {
        callEnds.removeAll { $0 <= now }
    }
}
