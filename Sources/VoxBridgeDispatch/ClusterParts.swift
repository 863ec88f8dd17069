import DispatchCluster
import Foundation
import Logging
import PostgresSettingsStore
import SettingsStore

/// What an instance in a cluster runs beside the single-instance service: the lease's
/// coordinator, the forwarder to the leader, and the reservations' replicator. Made by `serve`
/// with `--advertise-url`, closed by it after the server stopped (the forwarder serves requests
/// until the very end of graceful shutdown).
struct ClusterParts: Sendable {
    let coordinator: ClusterCoordinator
    let forwarder: ClusterForwarder
    let replicator: ReservationReplicator

    /// Joins the cluster of instances sharing `storeURL`: creates the lease's tables when
    /// missing; the lease itself is taken or followed once the services run.
    static func join(
        storeURL: PostgresStoreURL, advertiseURL: String, configuration: DispatchConfiguration,
        metrics: DispatchMetrics, logger: Logger
    ) async throws -> ClusterParts {
        let lease = try PostgresLease(
            url: storeURL, identity: UUID().uuidString.lowercased(), advertiseURL: advertiseURL,
            configuration: configuration.lease, logger: logger)
        do {
            try await lease.prepare()
        } catch {
            await lease.close()
            throw error
        }
        let coordinator = ClusterCoordinator(configuration: configuration.lease, lease: lease, metrics: metrics, logger: logger)
        // A forward waits as long as the leader may take on a pick that waits for probes.
        let forwarder = ClusterForwarder(selfURL: advertiseURL, timeout: configuration.probeTimeout + .seconds(1))
        let replicator = ReservationReplicator(
            coordinator: coordinator, forwarder: forwarder, token: configuration.pickToken ?? configuration.adminToken, metrics: metrics)
        return ClusterParts(coordinator: coordinator, forwarder: forwarder, replicator: replicator)
    }

    /// Closes the forwarder's pool and the lease's connections.
    func close() async {
        await forwarder.shutdown()
        await coordinator.close()
    }
}
