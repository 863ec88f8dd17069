import DispatchHTTPServer
import FleetPicker
import Foundation
import Hummingbird

/// `GET /v1/fleet` and `GET /metrics`: what operators watch.
struct FleetStatusController: Sendable {
    /// The fleet, the metrics, the tokens; in a cluster, whose role the scrape reads at that
    /// moment.
    let runtime: FleetRuntime

    func addRoutes(to router: Router<some RequestContext>) {
        router.get("/v1/fleet") { request, _ in try self.fleet(request) }
        router.get("/metrics") { _, _ in
            runtime.follower.refresh()
            runtime.cluster?.coordinator.reportRole()
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: runtime.metrics.render(servers: runtime.fleet.snapshot()))))
        }
    }

    private func fleet(_ request: Request) throws -> Response {
        try runtime.access.requirePicker(request)
        let version = runtime.follower.refresh()
        let servers = runtime.fleet.snapshot()
        let body = JSONValue.object(FleetStatusDocument.members(version: version, servers: servers, admin: runtime.follower.adminStates, ingress: runtime.ingress))
        return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(bytes: body.encoded())))
    }
}

extension Duration {
    /// The duration in seconds, for date arithmetic.
    var timeInterval: TimeInterval { milliseconds / 1_000 }
}
