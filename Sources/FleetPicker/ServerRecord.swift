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

    init(url: String) {
        self.url = url
    }

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
            heldByReport: report != nil
        )
    }
}
