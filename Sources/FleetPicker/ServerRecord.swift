/// Everything the picker knows about one server; internal, callers see ``ServerSnapshot``.
struct ServerRecord: Sendable {
    let url: String
    var state: ServerState = .unknown
    /// The last good reading, kept after failures so operators still see the last figures.
    var reading: ServerReading?
    /// Start of the newest probe whose result was applied, good or failed: the freshness clock.
    var lastProbeStart: Moment?
    var lastLatency: Duration?
    /// Why the newest applied probe failed; `nil` when it was good. While set, the reading does
    /// not serve picks: it is older than a probe that could not confirm it.
    var lastError: String?
    var consecutiveFailures = 0
    var consecutiveSuccesses = 0
    /// Starts of the probes under way. Usually none or one; two when freshness 0 makes a pick
    /// start a probe while an older one, which cannot serve it, is still running.
    var probesInFlight: [Moment] = []
    /// Reservations not yet settled, released or expired, in the order they were made.
    var reservations: [Reservation] = []
    /// The failure that took the server down, shown while it stays down, also after good probes
    /// short of `rise` have cleared ``lastError``.
    var downReason: String?
    /// When a down server went down; background probes are scheduled from here.
    var downSince: Moment?
    /// When a down server is next due for a background probe; `nil` until first scheduled.
    var nextBackgroundProbe: Moment?
    /// When a server that is not down is next due for a refresh-ahead probe; `nil` while none
    /// is scheduled (a new server, or one whose probe is under way), which counts as due now.
    var nextRefresh: Moment?
    /// Whether a refresh-ahead period has been scheduled since the server joined or came back:
    /// the first one gets a random phase over a whole period, later ones ±20 % jitter.
    var refreshPhased = false
    /// Latency of good probes, rising at once with a slower answer and decaying by an eighth
    /// toward faster ones; what the refresh schedule leaves room for.
    var latencyEstimate: Duration?
    /// A `busy` or `failed` release not yet answered by a good probe started after it.
    var report: OutcomeReport?
    /// `busy` and `failed` reports of about the last minute, oldest first, for operators
    /// (bounded: see ``FleetState/recentReportLimit``).
    var recentReports: [OutcomeReport] = []
    /// Listed after the first list this state was given: its first good reading starts a slow
    /// start, as a server coming back does (those of the first list are the fleet as found).
    var joinedLate = false
    /// When the server last became pickable again, while its slow start may still run.
    var slowStartSince: Moment?
    /// What an operator has set (``FleetState/setOperatorStates(_:now:)``).
    var operatorState: OperatorState = .active
    /// When the operator put it in maintenance: its slow probe schedule counts from here.
    var maintenanceSince: Moment?

    /// Probed at the down interval, not refreshed ahead: down, or in maintenance.
    var onSlowSchedule: Bool { state == .down || operatorState == .maintenance }

    init(url: String, joinedLate: Bool = false) {
        self.url = url
        self.joinedLate = joinedLate
    }

    /// Whether the probes call it healthy: no operator holds it, its newest probe answered well
    /// and says it takes calls, and no failed probe took it down (callers' reports may have).
    var healthyByProbes: Bool {
        operatorState == .active && lastError == nil && reading?.isTakingCalls == true && (state != .down || isDownByReports)
    }

    /// Whether callers' `failed` reports hold it back or took it down, while no operator holds
    /// it (a server in maintenance whose failed hold never lifts takes no slot of the cap).
    var heldByCallers: Bool {
        operatorState == .active && (report?.reason == .failed || (state == .down && isDownByReports))
    }

    /// Down because `failed` reports reached `fall`, not because probes failed.
    var isDownByReports: Bool { downReason == Self.reportedDownReason }

    /// The reason a server taken down by callers' `failed` reports shows.
    static let reportedDownReason = "dialout failed (reported)"

    /// Whether a probe under way started at or after `threshold`, so a pick can join it.
    func hasProbeInFlight(since threshold: Moment) -> Bool {
        probesInFlight.contains { $0 >= threshold }
    }

    /// The figures the pick loop reads, copied out of this record.
    var figures: PickFigures {
        PickFigures(
            state: state,
            lastProbeFailed: lastError != nil,
            answeredAt: lastProbeStart,
            reportedAvailable: reading?.available ?? 0,
            reserved: reservations.count,
            heldByReport: report != nil,
            slowStartSince: slowStartSince,
            heldByOperator: operatorState != .active
        )
    }
}
