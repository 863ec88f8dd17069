/// The outcome of one health probe of one fleet server.
public enum ProbeResult: Sendable, Equatable {
    /// The server answered 200 with a valid body.
    case healthy(ServerReading)
    /// The probe failed; `reason` names why, e.g. `"timeout"`, `"connect"`, `"http_status 500"`.
    case failed(reason: String)
    /// The probe ended without a verdict on the server: it was cancelled, or the prober shut
    /// down. It frees the probe's place in flight and changes nothing else, so a shutdown never
    /// counts toward `fall` or takes a server down.
    case abandoned
}
