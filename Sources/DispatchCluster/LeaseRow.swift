/// The lease as the database holds it, read in the same statement that tried to take or renew it.
public struct LeaseRow: Sendable, Hashable {
    /// The holder's instance identity (a new one each time a process starts).
    public var holder: String
    /// The URL the holder is reached at (its `--advertise-url`).
    public var holderURL: String
    /// Raised each time the lease passes to a new holder or a lapsed one is taken again; a
    /// decision carries it, so two terms can be told apart.
    public var fencing: Int64
    /// How long the lease had left when the database answered (negative once it lapsed), by
    /// the database's own clock: the instances' clocks are never compared.
    public var remaining: Duration

    /// A row as read.
    public init(holder: String, holderURL: String, fencing: Int64, remaining: Duration) {
        self.holder = holder
        self.holderURL = holderURL
        self.fencing = fencing
        self.remaining = remaining
    }
}
