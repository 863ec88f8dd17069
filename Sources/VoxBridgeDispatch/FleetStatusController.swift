import FleetPicker
import Foundation
import Hummingbird

/// `GET /v1/fleet` and `GET /metrics`: what operators watch.
struct FleetStatusController: Sendable {
    let coordinator: FleetCoordinator<EventLoopClock>
    let follower: FleetListFollower
    let metrics: DispatchMetrics
    let access: AccessControl
    /// In a cluster, whose role the scrape reads at that moment.
    var cluster: ClusterParts? = nil

    func addRoutes(to router: Router<some RequestContext>) {
        router.get("/v1/fleet") { request, _ in try self.fleet(request) }
        router.get("/metrics") { _, _ in
            follower.refresh()
            cluster?.coordinator.reportRole()
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: metrics.render(servers: coordinator.snapshot()))))
        }
    }

    private func fleet(_ request: Request) throws -> Response {
        try access.requirePicker(request)
        let version = follower.refresh()
        let servers = coordinator.snapshot()
        let body = JSONValue.object(FleetStatusDocument.members(version: version, servers: servers))
        return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(bytes: body.encoded())))
    }
}

extension Duration {
    /// The duration in seconds, for date arithmetic.
    var timeInterval: TimeInterval { milliseconds / 1_000 }
}
