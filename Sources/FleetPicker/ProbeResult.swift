/// The outcome of one health probe of one fleet server.
public enum ProbeResult: Sendable, Equatable {
    /// The server answered 200 with a valid body.
    case healthy(ServerReading)
    /// The probe failed; `reason` names why, e.g. `"timeout"`, `"connect"`, `"http_status 500"`.
    case failed(reason: String)
}
