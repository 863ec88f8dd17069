/// A server a pick could not use, and why.
public struct PassedOver: Sendable, Equatable {
    /// The server's list entry.
    public var url: String
    /// Its state at the time of the pick.
    public var state: ServerState
    /// Why it was passed over: `"excluded"`, `"down: <failure>"`, `"probe failed: <failure>"`,
    /// `"full: the fleet server answered 429; …"`, `"dialout failed (reported); …"`, `"draining"`,
    /// `"no fresh reading"` or `"full"`.
    public var reason: String

    /// Creates a passed-over entry.
    public init(url: String, state: ServerState, reason: String) {
        self.url = url
        self.state = state
        self.reason = reason
    }
}
