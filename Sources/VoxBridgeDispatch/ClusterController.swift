import DispatchCluster
import DispatchHTTPServer
import FleetPicker
import Foundation
import Hummingbird

/// `GET /v1/cluster` (this instance's place in the cluster) and `POST /v1/cluster/reservations`
/// (the reservations another member decided, from its ``ReservationReplicator``).
struct ClusterController: Sendable {
    /// The fleet the batches' reservations and releases are applied to, the metrics that count
    /// them, the tokens (both routes need the pick or the admin token), and the cluster's parts
    /// (`nil` outside a cluster: role `single`).
    let runtime: FleetRuntime

    /// Adds `GET /v1/cluster` and `POST /v1/cluster/reservations`.
    func addRoutes(to router: Router<some RequestContext>) {
        router.get("/v1/cluster") { request, _ in
            try runtime.access.requirePicker(request)
            let status = runtime.cluster?.coordinator.status() ?? .single
            return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(bytes: status.jsonData())))
        }
        router.post(RouterPath(ReservationChange.path)) { request, _ in try await self.receive(request) }
    }

    /// Applies a batch: adopts the reservations made, applies the releases (with their
    /// reasons, so a `busy` or `failed` server is held back here too). Unknown releases are
    /// skipped: the reservation may have settled here already.
    private func receive(_ request: Request) async throws -> Response {
        try runtime.access.requirePicker(request)
        let body = try await RequestBody.collect(request, limit: DispatchConfiguration.maximumRequestBodyBytes)
        let shape = #"{"made": [{"id": "…", "server": "…"}], "released": [{"id": "…", "reason": "not_placed" | "busy" | "failed"}]}"#
        guard let object = try RequestBody.json(body, expected: shape) as? [String: Any],
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
        guard runtime.cluster != nil else {
            throw APIError(status: .conflict, code: "not_in_cluster", message: "this instance is not in a cluster (serve without --advertise-url)")
        }
        let adopted = runtime.fleet.adoptReservations(reservations)
        var applied = 0
        for release in releases where runtime.fleet.release(reservationID: release.id, reason: release.reason) {
            applied += 1
        }
        runtime.metrics.recordReservationsAdopted(adopted)
        let json = JSONValue.object(["adopted": .int(adopted), "released": .int(applied)]).encoded()
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: json)))
    }
}
