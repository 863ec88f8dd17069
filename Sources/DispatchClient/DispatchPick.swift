/// One pick's answer: the fleet server to place the call on, and the reservation that holds a
/// worker there until the server reports the call or the reservation is released.
public struct DispatchPick: Sendable, Equatable {
    /// The fleet server's base URL, as the fleet list spells it.
    public var server: String
    /// The reservation to name in ``DispatchClient/release(_:reason:)`` when the call did not happen.
    public var reservationID: String
    /// The server's free workers before this pick's own reservation.
    public var available: Int
    /// The server's configured workers.
    public var workers: Int
    /// How long the dispatcher took to decide, in milliseconds, as it reports it.
    public var elapsedMilliseconds: Double
    /// The dispatcher instance that answered (one of the configured instances); the release
    /// goes there first: a lone instance is the only one that knows the reservation (in a
    /// cluster any instance does).
    public var instance: String
    /// In a cluster, the lease term the pick was decided under (the `VoxBridge-Lease-Term`
    /// header): terms only rise, and a pick under a newer term was decided after every pick under an
    /// older one (a term starts whenever the lease is taken, also by the same instance again).
    /// `nil` from an instance that decides alone.
    public var leaseTerm: Int64?
    /// In a cluster, the instance that decided the pick (the `VoxBridge-Decided-By` header, an
    /// `--advertise-url`): the leader, or the answering instance when it decided alone. `nil`
    /// outside a cluster.
    public var decidedBy: String?

    /// A pick as the dispatcher answered it.
    public init(
        server: String, reservationID: String, available: Int, workers: Int,
        elapsedMilliseconds: Double, instance: String, leaseTerm: Int64? = nil, decidedBy: String? = nil
    ) {
        self.leaseTerm = leaseTerm
        self.decidedBy = decidedBy
        self.server = server
        self.reservationID = reservationID
        self.available = available
        self.workers = workers
        self.elapsedMilliseconds = elapsedMilliseconds
        self.instance = instance
    }
}
