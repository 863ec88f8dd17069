import DispatchCluster
import FleetPicker
import Foundation
import Logging
import PostgresSettingsStore
import SettingsStore

/// What an instance in a cluster runs beside the single-instance service: the lease's
/// coordinator, the forwarder to the leader, and the reservations' replicator. Made by `serve`
/// with `--advertise-url`, closed by it after the server stopped (the forwarder serves requests
/// until the very end of graceful shutdown).
struct ClusterParts: Sendable {
    /// The lease, the members, and the route of each request.
    let coordinator: ClusterCoordinator
    /// Sends requests to the leader, and batches to the members.
    let forwarder: ClusterForwarder
    /// Sends this instance's decisions to the other members.
    let replicator: ReservationReplicator

    /// Joins the cluster of instances sharing `storeURL`: creates the lease's tables when
    /// missing; the lease itself is taken or followed once the services run.
    static func join(
        storeURL: PostgresStoreURL, advertiseURL: String, configuration: DispatchConfiguration,
        metrics: DispatchMetrics, logger: Logger
    ) async throws -> ClusterParts {
        let leaseConfiguration = try configuration.lease.validated()
        let lease = try PostgresLease(
            url: storeURL, identity: UUID().uuidString.lowercased(), advertiseURL: advertiseURL,
            configuration: leaseConfiguration, logger: logger)
        do {
            try await lease.prepare()
        } catch {
            await lease.close()
            throw error
        }
        let coordinator = ClusterCoordinator(configuration: leaseConfiguration, lease: lease, metrics: metrics, logger: logger)
        // A forward waits as long as the leader may take on a pick that waits for probes.
        let forwarder = ClusterForwarder(selfURL: advertiseURL, timeout: configuration.probeTimeout + .seconds(1))
        let replicator = ReservationReplicator(
            coordinator: coordinator, forwarder: forwarder, token: configuration.pickToken ?? configuration.adminToken, metrics: metrics)
        return ClusterParts(coordinator: coordinator, forwarder: forwarder, replicator: replicator)
    }

    /// After a pick decided under `fencing` (the route's or the fast path's): whether it may be
    /// answered. When the lease ended while deciding, the reservation is undone and the caller
    /// routes the request again; otherwise a reservation made is queued for the other members.
    func commit(_ outcome: PickOutcome, fencing: Int64?, on fleet: FleetCoordinator<EventLoopClock>) -> Bool {
        guard coordinator.confirm(fencing: fencing) else {
            if case .picked(let pick) = outcome { _ = fleet.release(reservationID: pick.reservationID) }
            return false
        }
        if case .picked(let pick) = outcome { replicator.made(pick) }
        return true
    }

    /// Closes the forwarder's pool and the lease's connections.
    func close() async {
        await forwarder.shutdown()
        await coordinator.close()
    }
}
