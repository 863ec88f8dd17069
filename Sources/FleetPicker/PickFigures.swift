/// The part of a ``ServerRecord`` a pick reads, kept in an array of its own beside the records.
///
/// Every field is a plain value, so the pick loop walks 256 of these without touching a
/// reference count; reading the records themselves copied their strings and arrays for each
/// server and cost about 70 ns a server. ``FleetState`` refreshes a server's figures after
/// every change to its record (``FleetState/refreshFigures(at:)``).
struct PickFigures: Sendable {
    var state: ServerState
    /// The newest applied probe failed, so the reading cannot serve picks.
    var lastProbeFailed: Bool
    /// Start of the newest applied probe, good or failed.
    var answeredAt: Moment?
    /// Free workers in the last good reading, 0 before any.
    var reportedAvailable: Int
    /// Reservations alive on the server.
    var reserved: Int
    /// A `busy` or `failed` release holds the server back until a probe started after it answers.
    var heldByReport: Bool
    /// When its slow start began, while one may still run.
    var slowStartSince: Moment?
    /// An operator drained it or put it in maintenance: no picks, and picks never wait for it.
    var heldByOperator: Bool

    /// Whether a pick may wait for this server's probe: it is neither down nor held by an operator.
    @inline(__always)
    var mayBeWaitedFor: Bool { state != .down && !heldByOperator }

    /// Whether a probe that started at or after `threshold` has answered, well or not.
    @inline(__always)
    func hasAnswer(since threshold: Moment) -> Bool {
        guard let answeredAt else { return false }
        return answeredAt >= threshold
    }

    /// Free workers a pick may use, or `nil` when the server cannot take a call at all
    /// (not up, its newest probe failed, held by a dialout's report, or no probe since
    /// `threshold`). Zero or negative when reservations have used up the reading; during a
    /// slow start of `slowStart` at `now`, only the part of the reading the ramp allows counts.
    @inline(__always)
    func effectiveAvailable(freshFrom threshold: Moment, now: Moment, slowStart: Duration) -> Int? {
        guard state == .up, !heldByOperator, !lastProbeFailed, !heldByReport, hasAnswer(since: threshold) else { return nil }
        guard let slowStartSince else { return reportedAvailable - reserved }
        return slowStartCapacity(available: reportedAvailable, elapsed: now - slowStartSince, window: slowStart) - reserved
    }
}

/// The free workers picks may use on a server `elapsed` into a slow start of `window`:
/// `max(1, ceil(available × max(0.1, elapsed / window)))`, linear from a tenth to all of them
/// (Envoy's slow start with aggression 1 and a 10 % floor); all of them once the window has
/// passed, or when it is zero.
@inline(__always)
func slowStartCapacity(available: Int, elapsed: Duration, window: Duration) -> Int {
    guard window > .zero, elapsed < window, available > 0 else { return available }
    let share = max(0.1, max(.zero, elapsed) / window)
    return max(1, Int((Double(available) * share).rounded(.up)))
}
