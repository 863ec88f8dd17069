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

}
