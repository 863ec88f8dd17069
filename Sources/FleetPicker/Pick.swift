/// The server a pick chose.
public struct Pick: Sendable, Equatable {
    /// The chosen list entry.
    public var server: String
    /// Its free workers before this pick's own reservation: the reported figure minus the
    /// reservations that report cannot include yet.
    public var available: Int
    /// Its configured workers.
    public var workers: Int
    /// The reservation this pick made; pass it to release when the dialout does not happen.
    public var reservationID: String

    /// Creates a pick.
    public init(server: String, available: Int, workers: Int, reservationID: String) {
        self.server = server
        self.available = available
        self.workers = workers
        self.reservationID = reservationID
    }
}
