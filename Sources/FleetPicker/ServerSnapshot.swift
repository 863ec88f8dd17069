/// One server as the `/v1/fleet` answer shows it.
public struct ServerSnapshot<Instant: InstantProtocol>: Sendable, Equatable {
    /// The list entry.
    public var url: String
    /// Its state.
    public var state: ServerState
    /// Free workers in the last good reading (before reservations); `nil` before any.
    public var available: Int?
    /// Configured workers in the last good reading; `nil` before any.
    public var workers: Int?
    /// Busy workers in the last good reading; `nil` before any.
    public var activeCalls: Int?
    /// Reservations not yet covered by a report.
    public var reserved: Int
    /// Start of the newest probe that answered, good or failed.
    public var lastProbeStart: Instant?
    /// How long that probe took.
    public var lastLatency: Duration?
    /// Why that probe failed; `nil` when it was good.
    public var lastError: String?
    /// Failed probes in a row, `failed` reports included.
    public var consecutiveFailures: Int
    /// The dialout report holding the server back (`busy`: counted as full; `failed`: passed
    /// over) until a probe started after it answers well; `nil` when none does.
    public var heldBy: ReleaseReason?
    /// `busy` reports in the last ``FleetState/reportWindow``.
    public var busyReports: Int
    /// `failed` reports in the last ``FleetState/reportWindow``.
    public var failedReports: Int
    /// `failed` reports in the last ``FleetState/reportWindow`` that held nothing back: the
    /// cap on servers held by callers' reports was reached.
    public var cappedReports: Int
    /// When its slow start began, while one may still run.
    public var slowStartSince: Instant?
    /// What an operator has set.
    public var operatorState: OperatorState

    /// Creates a snapshot.
    public init(
        url: String, state: ServerState, available: Int?, workers: Int?, activeCalls: Int?,
        reserved: Int, lastProbeStart: Instant?, lastLatency: Duration?, lastError: String?,
        consecutiveFailures: Int, heldBy: ReleaseReason? = nil, busyReports: Int = 0, failedReports: Int = 0,
        cappedReports: Int = 0, slowStartSince: Instant? = nil, operatorState: OperatorState = .active
    ) {
        self.url = url
        self.state = state
        self.available = available
        self.workers = workers
        self.activeCalls = activeCalls
        self.reserved = reserved
        self.lastProbeStart = lastProbeStart
        self.lastLatency = lastLatency
        self.lastError = lastError
        self.consecutiveFailures = consecutiveFailures
        self.heldBy = heldBy
        self.busyReports = busyReports
        self.failedReports = failedReports
        self.cappedReports = cappedReports
        self.slowStartSince = slowStartSince
        self.operatorState = operatorState
    }
}
