/// A fleet server a `no_capacity` answer passed over, and why (an item of its `servers`).
public struct PassedOverServer: Sendable, Equatable, Decodable {
    /// The server's base URL.
    public var url: String
    /// `up`, `down`, `draining` or `unknown`.
    public var state: String
    /// Why it was passed over, e.g. `excluded`, `full`, `draining`.
    public var reason: String

    /// A passed-over server.
    public init(url: String, state: String, reason: String) {
        self.url = url
        self.state = state
        self.reason = reason
    }
}
