/// What the cluster runtime counts: the service's metrics conform, so this module needs no
/// metrics backend of its own.
public protocol ClusterMetrics: Sendable {
    /// This instance's role now (`leader`, `follower`, `degraded`) and the term it leads under.
    func setClusterRole(_ role: String, fencing: Int64?)
    /// One pick or release forwarded to the leader: `ok`, `unreachable`, `not_leader` or
    /// `leader_changed` (abandoned: another instance leads now); `relayed` or `relay_failed`
    /// when sent through another member around a leader out of reach.
    func recordForward(result: String)
    /// One batch of reservations sent to a member (`sent`, `failed`), or changes dropped from a
    /// full queue (`dropped`).
    func recordReplication(result: String)
}
