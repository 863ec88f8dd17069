/// A `busy` or `failed` release: as ``ServerRecord/report``, the hold on its server until a
/// probe started after it answers well; in ``ServerRecord/recentReports``, one report counted
/// for operators.
struct OutcomeReport: Sendable, Equatable {
    /// `busy` or `failed`; in a hold, `failed` wins when both were reported since the last good probe.
    var reason: ReleaseReason
    /// When the report arrived (in a hold, the newest): only a probe started at or after it clears the hold.
    var at: Moment
    /// In ``ServerRecord/recentReports``: a `failed` report that held nothing back, because the
    /// cap on servers held by callers' reports was reached.
    var capped = false
}
