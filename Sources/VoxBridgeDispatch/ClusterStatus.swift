/// What `GET /v1/cluster` shows of this instance's place in the cluster.
struct ClusterStatus: Sendable {
    /// A member as shown.
    struct Member: Sendable {
        /// Its `--advertise-url`.
        var url: String
        /// The role it wrote in its row.
        var role: String
        /// How long ago it wrote its row.
        var seenAgo: Duration
        /// Whether it is this instance.
        var isSelf: Bool
    }

    /// `leader`, `follower`, `degraded` or `single`.
    var role: String
    /// `--advertise-url`, when in a cluster.
    var selfURL: String?
    /// The leader's URL, when one is known.
    var leaderURL: String?
    /// This instance's identity in the lease and member rows.
    var identity: String?
    /// The lease's fencing number as last read.
    var fencing: Int64?
    /// Who held the lease at the last read.
    var leaseHolder: String?
    /// How long the lease as last read had left (negative once it lapsed).
    var expiresIn: Duration?
    /// While this instance leads: how long its term has left.
    var termEndsIn: Duration?
    /// Whether the last round trip to PostgreSQL was answered.
    var databaseReachable: Bool
    /// The members seen within the member timeout.
    var members: [Member]

    /// The status of an instance that is not in a cluster.
    static let single = ClusterStatus(role: "single", databaseReachable: true, members: [])

    /// The short form the operator's page shows: who decides (`cluster` in each fleet event).
    var summary: JSONValue {
        .object([
            "role": .string(role), "self": selfURL.map(JSONValue.string) ?? .null,
            "leader": leaderURL.map(JSONValue.string) ?? .null, "term": fencing.map { .int(Int($0)) } ?? .null,
        ])
    }

    /// The JSON body.
    var json: JSONValue {
        func optional(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .null }
        return .object([
            "role": .string(role),
            "self": optional(selfURL),
            "leader": optional(leaderURL),
            "instance_id": optional(identity),
            "lease": .object([
                "fencing": fencing.map { .int(Int($0)) } ?? .null,
                "holder": optional(leaseHolder),
                "expires_in_ms": expiresIn.map { .double(($0.milliseconds * 10).rounded() / 10) } ?? .null,
                "term_ends_in_ms": termEndsIn.map { .double(($0.milliseconds * 10).rounded() / 10) } ?? .null,
            ]),
            "database_reachable": .bool(databaseReachable),
            "members": .array(members.map { member in
                .object([
                    "url": .string(member.url), "role": .string(member.role),
                    "seen_ms_ago": .int(Int(member.seenAgo.milliseconds)), "self": .bool(member.isSelf),
                ])
            }),
        ])
    }
}
