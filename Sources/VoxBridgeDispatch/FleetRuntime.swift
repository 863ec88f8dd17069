import DispatchHTTPServer
import FleetPicker
import IngressSync
import ServiceMetrics

/// The fleet as `serve` runs it: the picker's coordinator on event loop timers.
typealias ServiceFleet = FleetCoordinator<EventLoopClock>

/// What every request path of the service shares: the fleet, the list it follows, the metrics,
/// the tokens and, in a cluster, the cluster's parts. One value, built once by
/// `buildApplication`, passed to the routes and to the fast path.
struct FleetRuntime: Sendable {
    /// The picker: readings, reservations, decisions.
    let fleet: ServiceFleet
    /// Keeps the fleet's list in step with the settings store.
    let follower: FleetListFollower
    /// The service's metrics.
    let metrics: DispatchMetrics
    /// Who may call what.
    let access: AccessControl
    /// What the ingress syncs recorded: each server's state on the inbound path.
    let ingress: IngressViewCache
    /// The cluster's parts; `nil` when this instance decides alone (role `single`).
    var cluster: ClusterParts? = nil
}
