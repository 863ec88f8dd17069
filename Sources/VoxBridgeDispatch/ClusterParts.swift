import DispatchCluster
import DispatchHTTPServer
import FleetPicker
import Foundation
import Hummingbird
import Logging
import PostgresSettingsStore
import ServiceMetrics
import SettingsStore

/// What an instance in a cluster runs beside the single-instance service: the lease's
/// coordinator, the path a request takes to the leader, and the reservations' replicator, all on
/// the continuous clock. Made by `serve` with `--advertise-url`, closed by it after the server
/// stopped (the forwarder serves requests until the very end of graceful shutdown).
final class ClusterParts: Sendable {
    /// The lease, the members, and the route of each request.
    let coordinator: ClusterCoordinator<ContinuousClock>
    /// Sends requests to the leader, and batches to the members.
    let forwarder: ClusterForwarder
    /// Decides, forwards or waits for each pick and release.
    let path: ClusterPath<ContinuousClock>
    /// Sends this instance's decisions to the other members.
    let replicator: ReservationReplicator<ContinuousClock>
    /// This instance's `--advertise-url`, named on the picks it decides.
    let selfURL: String

    private init(
        coordinator: ClusterCoordinator<ContinuousClock>, forwarder: ClusterForwarder, path: ClusterPath<ContinuousClock>,
        replicator: ReservationReplicator<ContinuousClock>, selfURL: String
    ) {
        self.selfURL = selfURL
        self.coordinator = coordinator
        self.forwarder = forwarder
        self.path = path
        self.replicator = replicator
    }

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
        let clock = ContinuousClock()
        // A forward waits as long as the leader may take on a pick that waits for probes.
        let forwarder = ClusterForwarder(
            selfURL: advertiseURL, timeout: configuration.probeTimeout + .seconds(1),
            memberToken: configuration.clusterSecret)
        let coordinator = ClusterCoordinator(
            configuration: leaseConfiguration, lease: lease, peerAsking: forwarder, metrics: metrics, logger: logger, clock: clock)
        let replicator = ReservationReplicator(
            selfURL: advertiseURL, peers: { coordinator.peers() }, sender: forwarder, metrics: metrics, clock: clock)
        return ClusterParts(
            coordinator: coordinator, forwarder: forwarder,
            path: ClusterPath(coordinator: coordinator, forwarder: forwarder, metrics: metrics, clock: clock),
            replicator: replicator, selfURL: advertiseURL)
    }

    /// Answers a pick or a release through the cluster: `decide` here while this instance
    /// decides, the leader's answer otherwise; 503 `not_leader` or `no_leader` when nobody could.
    func answer(_ request: Request, body: ByteBuffer, decide: (Int64?) async throws -> Response?) async throws -> Response {
        // The path as the router parsed it: a request in absolute form (`POST http://host/v1/pick`)
        // goes to the leader's own address, with the same path.
        var head = request.head
        head.path = request.uri.path
        do {
            return try await path.answer(head, body: body, decide: decide) { answer in
                Response(status: answer.status, headers: answer.headers, body: .init(byteBuffer: answer.body))
            }
        } catch ClusterPathError.notLeader(let leader) {
            throw APIError(status: .serviceUnavailable, code: "not_leader",
                           message: "this instance does not lead the cluster" + (leader.map { "; \($0) does" } ?? ""),
                           headers: [ClusterForwarder.notLeaderHeader: leader ?? ""])
        } catch ClusterPathError.noLeader {
            throw APIError(status: .serviceUnavailable, code: "no_leader",
                           message: "no instance of the cluster leads just now (a takeover is under way); try again",
                           headers: [ClusterForwarder.notLeaderHeader: ""])
        }
    }

    /// After a pick decided under `fencing` (the route's or the fast path's): whether it may be
    /// answered. When the lease ended while deciding, the reservation is undone and the caller
    /// routes the request again; otherwise a reservation made is queued for the other members.
    func commit(_ outcome: PickOutcome, fencing: Int64?, on fleet: ServiceFleet) -> Bool {
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
