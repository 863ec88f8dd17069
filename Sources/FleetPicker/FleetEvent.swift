/// Something the coordinator observed, for logs and metrics.
public enum FleetEvent: Sendable, Equatable {
    /// A server moved between states; `reason` is the failure that took it down, if any.
    case stateChanged(server: String, from: ServerState, to: ServerState, reason: String?)
    /// A probe came back, after `latency` measured on the coordinator's clock.
    case probeFinished(server: String, result: ProbeResult, latency: Duration)
    /// A caller's `failed` report on `server` held nothing back: callers' reports already hold
    /// back as many servers as the cap allows.
    case reportCapped(server: String, cap: HeldCap)
}
