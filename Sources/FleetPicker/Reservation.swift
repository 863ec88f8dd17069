/// A call this service sent to a server that the server's report may not include yet.
struct Reservation: Sendable {
    var id: ReservationID
    /// When the pick made it; settle and TTL count from here.
    var madeAt: Moment
    /// The cluster member that made it and sent it here; `nil` for this instance's own.
    var origin: String? = nil
}
