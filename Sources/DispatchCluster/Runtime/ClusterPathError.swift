/// Why ``ClusterPath`` gives a request no answer; the service answers each with 503.
public enum ClusterPathError: Error, Sendable, Equatable {
    /// This instance was sent a forwarded request and does not lead: `not_leader`, naming the
    /// leader it knows of, so the follower that sent it looks again.
    case notLeader(leader: String?)
    /// No instance led within the rounds a request may wait: `no_leader`.
    case noLeader
}
