/// What ``FleetState/release(reservationID:reason:now:)`` did with a known reservation.
public struct ReleaseResult: Sendable, Equatable {
    /// The server the reservation was on.
    public var server: String
    /// A `failed` report that reached `fall` took the server down.
    public var change: StateChange?

    /// Creates a result.
    public init(server: String, change: StateChange? = nil) {
        self.server = server
        self.change = change
    }
}
