/// Watches a draining server's own reports until its calls have ended: `fleet drain --wait`.
///
/// A value type with the instants passed in, like ``FleetState``: the command probes the server
/// and reports each reading; this decides. Drained means no active calls reported for the whole
/// quiet window, longer than any gap between a pick and its dialout, so that a reservation
/// handed out before the drain has become a call, or expired, by then. A probe that fails says
/// nothing about the calls: it restarts the window.
public struct DrainWatch<Instant: InstantProtocol>: Sendable where Instant.Duration == Duration {
    /// What the watch says after a reading.
    public enum Verdict: Sendable, Equatable {
        /// Not yet: `callsLeft` as last reported (`nil` when the server has not answered).
        case waiting(callsLeft: Int?)
        /// No active calls for the whole quiet window.
        case drained
        /// The timeout passed first; `callsLeft` as last reported.
        case timedOut(callsLeft: Int?)
    }

    /// How long the server must report no active calls.
    public let quiet: Duration
    /// How long to wait in all.
    public let timeout: Duration
    private let start: Instant
    private var quietSince: Instant?
    private var callsLeft: Int?

    /// A watch started at `start`.
    public init(start: Instant, quiet: Duration, timeout: Duration) {
        self.start = start
        self.quiet = quiet
        self.timeout = timeout
    }

    /// Takes one reading at `now`: the server's active calls, or `nil` for a failed probe (the
    /// count is then unknown, not the last one seen).
    public mutating func observe(activeCalls: Int?, at now: Instant) -> Verdict {
        callsLeft = activeCalls
        if activeCalls == 0 {
            let since = quietSince ?? now
            quietSince = since
            if since.duration(to: now) >= quiet { return .drained }
        } else {
            quietSince = nil
        }
        return start.duration(to: now) >= timeout ? .timedOut(callsLeft: callsLeft) : .waiting(callsLeft: callsLeft)
    }
}
