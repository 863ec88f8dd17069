/// The one named reason a probe failed, as docs/API.md ("What the service reads from a fleet server") lists them.
public enum ProbeFailureReason: Sendable, Equatable, Hashable {
    /// The probe did not finish within the configured timeout (connect or answer).
    case timeout
    /// No connection: refused, unreachable, reset, or closed before an answer.
    case connect
    /// The host name did not resolve.
    case dns
    /// TLS failed: handshake, certificate verification, or an unusable CA file.
    case tls
    /// The server answered with a status other than 200 (and not a redirect).
    case httpStatus(Int)
    /// The server answered with a 3xx; redirects are never followed.
    case redirect
    /// The body was longer than the configured cap; the transfer was aborted.
    case bodyTooLarge
    /// The body is not a JSON object.
    case invalidJSON
    /// A field is missing, wrongly typed or out of range; the payload names the field.
    case invalidField(String)
    /// The probe was cancelled by its caller, or the prober shut down, before it finished.
    /// Not a verdict on the server.
    case cancelled

    /// A stable snake_case name for logs, metrics labels and API answers.
    public var code: String {
        switch self {
        case .timeout: "timeout"
        case .connect: "connect"
        case .dns: "dns"
        case .tls: "tls"
        case .httpStatus: "http_status"
        case .redirect: "redirect"
        case .bodyTooLarge: "body_too_large"
        case .invalidJSON: "invalid_json"
        case .invalidField: "invalid_field"
        case .cancelled: "cancelled"
        }
    }
}
