/// Everything ``DispatchClient`` throws, besides `CancellationError` and the placing code's own errors.
///
/// Answers of the service carry its ``ServiceError`` (status, JSON `error` code and `message`).
public enum DispatchClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// 503 `no_capacity`: no fleet server can take a call now; `servers` says why each was
    /// passed over (`excluded`, `full`, `down`, …).
    case noCapacity(servers: [PassedOverServer], ServiceError)
    /// 503 `fleet_empty`: the fleet list is empty.
    case fleetEmpty(ServiceError)
    /// 401 `unauthorized`: the token is missing or wrong.
    case unauthorized(ServiceError)
    /// 404 `unknown_reservation` on a release: it was released already, settled or expired.
    case unknownReservation(ServiceError)
    /// Any other error answer of the service (e.g. 400 `invalid_request` for a bad `exclude` entry).
    case rejected(ServiceError)
    /// No instance answered: one failure per instance tried, in the order tried.
    case unavailable([InstanceFailure])
    /// A dial tried ``DispatchClientConfiguration/maxAttempts`` servers and every one was busy or failed.
    case retriesExhausted([DialAttempt])
    /// An instance answered 200 with a body that is not what the API describes.
    case invalidAnswer(instance: String, detail: String)

    /// The service's error answer, when the error is one.
    public var serviceError: ServiceError? {
        switch self {
        case .noCapacity(_, let error), .fleetEmpty(let error), .unauthorized(let error),
            .unknownReservation(let error), .rejected(let error):
            error
        case .unavailable, .retriesExhausted, .invalidAnswer:
            nil
        }
    }

    /// One line for a log.
    public var description: String {
        switch self {
        case .noCapacity(let servers, let error):
            "no capacity: \(error.message) [\(servers.map { "\($0.url) \($0.state): \($0.reason)" }.joined(separator: "; "))]"
        case .fleetEmpty(let error): "fleet empty: \(error.message)"
        case .unauthorized(let error): "unauthorized: \(error.message)"
        case .unknownReservation(let error): "unknown reservation: \(error.message)"
        case .rejected(let error): "rejected: \(error)"
        case .unavailable(let failures): "no dispatcher instance answered: \(failures.map(\.description).joined(separator: "; "))"
        case .retriesExhausted(let attempts):
            "every server tried was busy or failed: \(attempts.map { "\($0.server) \($0.outcome)" }.joined(separator: ", "))"
        case .invalidAnswer(let instance, let detail): "\(instance): unexpected answer: \(detail)"
        }
    }
}
