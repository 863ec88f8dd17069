/// An error answer of the dispatcher: its HTTP status and its JSON `{"error", "message"}`.
public struct ServiceError: Sendable, Equatable, CustomStringConvertible {
    /// The HTTP status, e.g. 401 or 503.
    public var status: Int
    /// The stable code of the body's `error` field, e.g. `no_capacity`, `unauthorized`.
    public var code: String
    /// The body's `message`, a sentence for a person.
    public var message: String

    /// An error answer with `status`, `code` and `message`.
    public init(status: Int, code: String, message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    /// `HTTP 503 no_capacity: …`.
    public var description: String { "HTTP \(status) \(code): \(message)" }
}
