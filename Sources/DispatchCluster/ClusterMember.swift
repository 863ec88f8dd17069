/// An instance of the cluster as its membership row shows it.
public struct ClusterMember: Sendable, Hashable {
    /// Its identity (new each time its process starts).
    public var id: String
    /// The URL it is reached at (`--advertise-url`).
    public var url: String
    /// The role it reported: `leader`, `follower` or `degraded`.
    public var role: String
    /// How long ago it wrote its row, by the database's clock.
    public var seenAgo: Duration

    /// A member as read.
    public init(id: String, url: String, role: String, seenAgo: Duration) {
        self.id = id
        self.url = url
        self.role = role
        self.seenAgo = seenAgo
    }
}
