import DispatchCluster
import DispatchHTTPServer

extension ClusterStatus {
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
