import DispatchCluster
import DispatchHTTPServer
import FleetPicker
import Foundation
import Hummingbird

/// `GET /v1/cluster` (this instance's place in the cluster) and `POST /v1/cluster/reservations`
/// (the reservations another member decided, from its ``ReservationReplicator``).
struct ClusterController: Sendable {
    /// The fleet the batches' reservations and releases are applied to, the metrics that count
    /// them, the credentials (the view needs the pick or the admin token, a batch the cluster
    /// secret), and the cluster's parts
    /// (`nil` outside a cluster: role `single`).
    let runtime: FleetRuntime

    /// Adds `GET /v1/cluster` and `POST /v1/cluster/reservations`.
    func addRoutes(to router: Router<some RequestContext>) {
        router.get("/v1/cluster") { request, _ in
            // The members ask it too, while they cannot reach the database.
            if !runtime.access.isMember(request.headers) { try runtime.access.requirePicker(request) }
            let status = runtime.cluster?.coordinator.status() ?? .single
            return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(bytes: status.jsonData())))
        }
        router.post(RouterPath(ReservationChange.path)) { request, _ in try await self.receive(request) }
    }

    /// Applies a batch from another member: adopts the reservations made, applies the releases
    /// (with their reasons, so a `busy` or `failed` server is held back here too). Unknown
    /// releases are skipped: the reservation may have settled here already.
    ///
    /// Only members may send one: the cluster secret is required (a caller's token is refused
    /// with 403), its `from` must be a current member, and a release is applied only when that
    /// member made the reservation or leads. Every refusal is counted.
    private func receive(_ request: Request) async throws -> Response {
        do throws(APIError) {
            try runtime.access.requireMember(request.headers)
        } catch {
            runtime.metrics.recordMemberCallRefused(reason: error.status == .forbidden ? "forbidden" : "unauthorized")
            throw error
        }
        let body = try await RequestBody.collect(request, limit: DispatchConfiguration.maximumRequestBodyBytes)
        let shape = #"{"from": URL, "made": [{"id": "…", "server": "…"}], "released": [{"id": "…", "reason": "not_placed" | "busy" | "failed"}]}"#
        guard let object = try RequestBody.json(body, expected: shape) as? [String: Any],
            let from = object["from"] as? String,
            let made = (object["made"] ?? [Any]()) as? [[String: Any]],
            let released = (object["released"] ?? [Any]()) as? [[String: Any]]
        else { throw APIError(status: .badRequest, code: "invalid_request", message: "the body must be \(shape)") }
        var reservations: [(id: String, server: String)] = []
        for entry in made {
            guard let id = entry["id"] as? String, let server = entry["server"] as? String else {
                throw APIError(status: .badRequest, code: "invalid_request", message: "each made entry needs a string id and server: \(shape)")
            }
            reservations.append((id, server))
        }
        var releases: [(id: String, reason: ReleaseReason)] = []
        for entry in released {
            guard let id = entry["id"] as? String, let reason = ReleaseReason(rawValue: entry["reason"] as? String ?? "not_placed") else {
                throw APIError(status: .badRequest, code: "invalid_request", message: "each released entry needs a string id and a known reason: \(shape)")
            }
            releases.append((id, reason))
        }
        guard let cluster = runtime.cluster else {
            throw APIError(status: .conflict, code: "not_in_cluster", message: "this instance is not in a cluster (serve without --advertise-url)")
        }
        let membership = cluster.coordinator.membership(of: from)
        guard membership.isMember else {
            runtime.metrics.recordMemberCallRefused(reason: "not_member")
            throw APIError.forbidden("\(from) is not a current member of this cluster")
        }
        let adopted = runtime.fleet.adoptReservations(reservations, from: from)
        var applied = 0
        var refused = 0
        for release in releases {
            switch runtime.fleet.release(reservationID: release.id, reason: release.reason, from: from, memberLeads: membership.leads) {
            case .released: applied += 1
            case .notTheirs: refused += 1
            case .unknown: break
            }
        }
        runtime.metrics.recordReservationsAdopted(adopted)
        runtime.metrics.recordMemberCallRefused(reason: "not_theirs", count: refused)
        let json = JSONValue.object(["adopted": .int(adopted), "released": .int(applied), "refused": .int(refused)]).encoded()
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: json)))
    }
}
