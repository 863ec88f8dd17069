/// What the request path does with a pick or a release, as ``ClusterCoordinator/route()`` says.
public enum ClusterRoute: Sendable, Equatable {
    /// Decide here: under the lease's fencing number when leading, with `nil` when this
    /// instance decides alone (no cluster, or the database out of reach).
    case decide(fencing: Int64?)
    /// Send it to the leader at this URL.
    case forward(leaderURL: String)
    /// Nobody leads this instant (a takeover under way): wait for the next round trip.
    case wait
}
