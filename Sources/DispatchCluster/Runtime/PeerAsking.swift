/// Who leads, as another member sees it first hand (it reaches the database): what an instance
/// cut off from the database follows instead of waiting for a round trip that cannot come.
public struct PeerView: Sendable, Equatable {
    /// The leader's URL.
    public var leaderURL: String
    /// Its lease term.
    public var fencing: Int64
    /// How long the member still trusts that leader: the leader's own term left, or a
    /// follower's lease time left.
    public var validFor: Duration

    /// A view as a member gave it.
    public init(leaderURL: String, fencing: Int64, validFor: Duration) {
        self.leaderURL = leaderURL
        self.fencing = fencing
        self.validFor = validFor
    }

    /// The view in a member's status, when that member reaches the database and knows a leader;
    /// `nil` otherwise (a member cut off too only relays hearsay). `validFor` may be zero or
    /// less: a lease that lapsed and that nobody has taken yet.
    public init?(_ status: ClusterStatus) {
        guard status.databaseReachable, status.role == "leader" || status.role == "follower",
            let leaderURL = status.leaderURL, let fencing = status.fencing,
            let validFor = status.termEndsIn ?? status.expiresIn
        else { return nil }
        self.init(leaderURL: leaderURL, fencing: fencing, validFor: validFor)
    }
}

/// Asks another member who leads (``ClusterForwarder`` over HTTP in production, the other
/// coordinators in the tests).
public protocol PeerAsking: Sendable {
    /// `member`'s first-hand view, or `nil` when it does not answer in time or knows no leader.
    func view(of member: String) async -> PeerView?
}
