/// Why one dispatcher instance gave no usable answer to one request.
public struct InstanceFailure: Sendable, Equatable, CustomStringConvertible {
    /// What went wrong.
    public enum Reason: Sendable, Equatable {
        /// No answer within ``DispatchClientConfiguration/requestTimeout`` (or no connection
        /// within ``DispatchClientConfiguration/connectTimeout``).
        case timedOut
        /// The connection failed: refused, reset, a DNS or TLS error (the text says which).
        case unreachable(String)
        /// A 5xx answer that is not one of the service's own pick answers, e.g. a proxy's 502,
        /// with the body's `error` code when it had one.
        case serverError(status: Int, code: String?)
    }

    /// The instance's base URL.
    public var instance: String
    /// What went wrong.
    public var reason: Reason

    /// A failure of `instance`.
    public init(instance: String, reason: Reason) {
        self.instance = instance
        self.reason = reason
    }

    /// `http://…: timed out`.
    public var description: String {
        switch reason {
        case .timedOut: "\(instance): timed out"
        case .unreachable(let text): "\(instance): unreachable (\(text))"
        case .serverError(let status, let code): "\(instance): HTTP \(status)\(code.map { " \($0)" } ?? "")"
        }
    }
}
