/// What `GET /v1/cluster` shows of this instance's place in the cluster.
public struct ClusterStatus: Sendable {
    /// A member as shown.
    public struct Member: Sendable {
        /// Its `--advertise-url`.
        public var url: String
        /// The role it wrote in its row.
        public var role: String
        /// How long ago it wrote its row.
        public var seenAgo: Duration
        /// Whether it is this instance.
        public var isSelf: Bool

        /// A member as shown.
        public init(url: String, role: String, seenAgo: Duration, isSelf: Bool) {
            self.url = url
            self.role = role
            self.seenAgo = seenAgo
            self.isSelf = isSelf
        }
    }

    /// `leader`, `follower`, `degraded` or `single`.
    public var role: String
    /// `--advertise-url`, when in a cluster.
    public var selfURL: String?
    /// The leader's URL, when one is known.
    public var leaderURL: String?
    /// This instance's identity in the lease and member rows.
    public var identity: String?
    /// The lease's fencing number as last read.
    public var fencing: Int64?
    /// Who held the lease at the last read.
    public var leaseHolder: String?
    /// How long the lease as last read had left (negative once it lapsed).
    public var expiresIn: Duration?
    /// While this instance leads: how long its term has left.
    public var termEndsIn: Duration?
    /// Whether the last round trip to PostgreSQL was answered.
    public var databaseReachable: Bool
    /// The members seen within the member timeout.
    public var members: [Member]


    /// A status as shown.
    public init(
        role: String, selfURL: String? = nil, leaderURL: String? = nil, identity: String? = nil, fencing: Int64? = nil,
        leaseHolder: String? = nil, expiresIn: Duration? = nil, termEndsIn: Duration? = nil, databaseReachable: Bool,
        members: [Member]
    ) {
        self.role = role
        self.selfURL = selfURL
        self.leaderURL = leaderURL
        self.identity = identity
        self.fencing = fencing
        self.leaseHolder = leaseHolder
        self.expiresIn = expiresIn
        self.termEndsIn = termEndsIn
        self.databaseReachable = databaseReachable
        self.members = members
    }

    /// The status of an instance that is not in a cluster.
    public static let single = ClusterStatus(role: "single", databaseReachable: true, members: [])
}
