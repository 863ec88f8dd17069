/// A server's move from one state to another, returned by ``FleetState/recordProbe(server:startedAt:finishedAt:result:)``
/// so the caller can log it.
public struct StateChange: Sendable, Equatable {
    /// The server's list entry.
    public var server: String
    /// The state before the probe.
    public var from: ServerState
    /// The state after the probe.
    public var to: ServerState
    /// The probe failure behind the move, if it was one.
    public var reason: String?

    /// Creates a state change.
    public init(server: String, from: ServerState, to: ServerState, reason: String? = nil) {
        self.server = server
        self.from = from
        self.to = to
        self.reason = reason
    }
}
