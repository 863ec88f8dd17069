/// What ``FleetState/release(reservationID:reason:now:)`` did with a known reservation.
public struct ReleaseResult: Sendable, Equatable {
    /// The server the reservation was on.
    public var server: String
    /// A `failed` report that reached `fall` took the server down.
    public var change: StateChange?
    /// A `failed` report that held nothing back: callers' reports already hold back or took
    /// down as many servers as the cap allows (``FleetPickerConfiguration/maxHeldPercent``).
    public var capped: HeldCap?

    /// Creates a result.
    public init(server: String, change: StateChange? = nil, capped: HeldCap? = nil) {
        self.server = server
        self.change = change
        self.capped = capped
    }
}
