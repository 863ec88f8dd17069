/// How a simulated fleet server answers `GET /health/fleet` (and whether it takes calls).
///
/// A server takes calls (`POST /livekit/dialout`) only while its effective mode is ``ok``;
/// otherwise the dialout answers 503, as a server that is failing or draining would.
public enum SimMode: Sendable, Equatable, CustomStringConvertible {
    /// A healthy answer with the server's real figures.
    case ok
    /// A healthy answer with `"status": "draining"`.
    case draining
    /// Accepts the request and never answers within any probe timeout (held for ``hangLimit``).
    case hang
    /// HTTP 500.
    case serverError
    /// HTTP 200 with a body that is not JSON.
    case badJSON
    /// Alternates every `periodMilliseconds`: `ok` first, then `failure`, and so on.
    indirect case flapping(periodMilliseconds: Int, failure: SimMode)

    /// How long a hanging health request is held before it is answered anyway, so that a run's
    /// requests all end.
    public static let hangLimit: Duration = .seconds(30)

    /// Reads `ok`, `draining`, `hang`, `500`, `badjson` or `flap:PERIOD_MS[:FAILURE]`
    /// (the failure defaults to `500`).
    public init?(parsing text: String) {
        switch text {
        case "ok": self = .ok
        case "draining": self = .draining
        case "hang": self = .hang
        case "500", "error": self = .serverError
        case "badjson": self = .badJSON
        default:
            let parts = text.split(separator: ":", maxSplits: 2).map(String.init)
            guard parts.count >= 2, parts[0] == "flap", let period = Int(parts[1]), period > 0 else { return nil }
            let failure = parts.count == 3 ? SimMode(parsing: parts[2]) : .serverError
            guard let failure, failure != .ok else { return nil }
            if case .flapping = failure { return nil }
            self = .flapping(periodMilliseconds: period, failure: failure)
        }
    }

    /// The mode in force `elapsed` after the server started: a flapping server's current phase.
    public func effective(after elapsed: Duration) -> SimMode {
        guard case .flapping(let period, let failure) = self else { return self }
        return (Int64(elapsed.milliseconds.rounded(.down)) / Int64(period)) % 2 == 0 ? .ok : failure
    }

    public var description: String {
        switch self {
        case .ok: "ok"
        case .draining: "draining"
        case .hang: "hang"
        case .serverError: "500"
        case .badJSON: "badjson"
        case .flapping(let period, let failure): "flap:\(period):\(failure)"
        }
    }
}
