/// A server a pick could not use, and why.
public struct PassedOver: Sendable, Equatable {
    /// The server's list entry.
    public var url: String
    /// Its state at the time of the pick.
    public var state: ServerState
    /// Why it was passed over: `"excluded"`, `"down: <failure>"`, `"probe failed: <failure>"`,
    /// `"full: the fleet server answered 429; …"`, `"dialout failed (reported); …"`, `"draining"`,
    /// `"no fresh reading"`, `"full"`, `"slow start: …"`, or an operator's `"draining (operator): …"`
    /// or `"maintenance (operator): …"`.
    public var reason: String
    /// What an operator set for it.
    public var operatorState: OperatorState

    /// Creates a passed-over entry.
    public init(url: String, state: ServerState, reason: String, operatorState: OperatorState = .active) {
        self.url = url
        self.state = state
        self.reason = reason
        self.operatorState = operatorState
    }
}
