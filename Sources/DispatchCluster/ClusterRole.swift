/// What an instance does with a pick or a release, as ``LeaseState/role(now:)`` decides it.
public enum ClusterRole: Sendable, Hashable {
    /// It holds the lease: it decides, under this fencing number.
    case leader(fencing: Int64)
    /// Another instance holds the lease: requests go to it.
    case follower(leaderURL: String, fencing: Int64)
    /// The database answers but no lease is held just now (the leader stopped or died and the
    /// lease has not been taken yet): a request waits for the next round trip.
    case electing
    /// The database has not answered for longer than a lease lasts: this instance decides
    /// alone, as every instance that cannot reach it does.
    case degraded

    /// The name `/v1/cluster` and the metrics use: `leader`, `follower` or `degraded`
    /// (`electing` shows as `follower`: it forwards as soon as a leader is known).
    public var name: String {
        switch self {
        case .leader: "leader"
        case .follower, .electing: "follower"
        case .degraded: "degraded"
        }
    }
}
