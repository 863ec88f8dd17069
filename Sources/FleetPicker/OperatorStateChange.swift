/// A server whose operator state changed (``FleetState/setOperatorStates(_:now:)``).
public struct OperatorStateChange: Sendable, Equatable {
    /// The list entry.
    public var server: String
    /// Its state before.
    public var from: OperatorState
    /// Its state now.
    public var to: OperatorState

    /// Creates a change.
    public init(server: String, from: OperatorState, to: OperatorState) {
        self.server = server
        self.from = from
        self.to = to
    }
}
