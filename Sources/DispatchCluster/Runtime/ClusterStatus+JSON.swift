import Foundation

extension ClusterStatus: Encodable {
    private enum Key: String, CodingKey {
        case role, `self`, leader, instanceID = "instance_id", lease, databaseReachable = "database_reachable", members
        case fencing, holder, expiresIn = "expires_in_ms", termEndsIn = "term_ends_in_ms"
        case url, seenAgo = "seen_ms_ago"
    }

    /// `GET /v1/cluster`'s body: every member present, `null` where unknown; durations in ms to
    /// a tenth.
    public func encode(to encoder: any Encoder) throws {
        func milliseconds(_ duration: Duration?) -> Double? {
            duration.map { (Double($0.components.seconds) * 1_000 + Double($0.components.attoseconds) / 1e15) * 10 }.map { $0.rounded() / 10 }
        }
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(role, forKey: .role)
        try container.encode(selfURL, forKey: .self)
        try container.encode(leaderURL, forKey: .leader)
        try container.encode(identity, forKey: .instanceID)
        var lease = container.nestedContainer(keyedBy: Key.self, forKey: .lease)
        try lease.encode(fencing, forKey: .fencing)
        try lease.encode(leaseHolder, forKey: .holder)
        try lease.encode(milliseconds(expiresIn), forKey: .expiresIn)
        try lease.encode(milliseconds(termEndsIn), forKey: .termEndsIn)
        try container.encode(databaseReachable, forKey: .databaseReachable)
        var list = container.nestedUnkeyedContainer(forKey: .members)
        for member in members {
            var item = list.nestedContainer(keyedBy: Key.self)
            try item.encode(member.url, forKey: .url)
            try item.encode(member.role, forKey: .role)
            let (seconds, attoseconds) = member.seenAgo.components
            try item.encode(Int(Double(seconds) * 1_000 + Double(attoseconds) / 1e15), forKey: .seenAgo)
            try item.encode(member.isSelf, forKey: .self)
        }
    }

    /// The body as JSON text, keys sorted, slashes unescaped.
    public func jsonData() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)) ?? Data("{}".utf8)
    }
}
