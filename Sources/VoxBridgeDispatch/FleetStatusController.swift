import FleetPicker
import Foundation
import Hummingbird

/// `GET /v1/fleet` and `GET /metrics`: what operators watch.
struct FleetStatusController: Sendable {
    let coordinator: FleetCoordinator<ContinuousClock>
    let follower: FleetListFollower
    let metrics: DispatchMetrics
    let access: AccessControl

    func addRoutes(to router: Router<some RequestContext>) {
        router.get("/v1/fleet") { request, _ in try self.fleet(request) }
        router.get("/metrics") { _, _ in
            follower.refresh()
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: metrics.render(servers: coordinator.snapshot()))))
        }
    }

    private func fleet(_ request: Request) throws -> Response {
        try access.requirePicker(request)
        let version = follower.refresh()
        let servers = coordinator.snapshot()
        let now = ContinuousClock.now
        let wallNow = Date.now
        let body: JSONValue = .object([
            "version": .int(version),
            "servers": .array(servers.map { server in
                .object([
                    "url": .string(server.url),
                    "state": .string(server.state.rawValue),
                    "available": server.available.map(JSONValue.int) ?? .null,
                    "workers": server.workers.map(JSONValue.int) ?? .null,
                    "active_calls": server.activeCalls.map(JSONValue.int) ?? .null,
                    "reserved": .int(server.reserved),
                    "last_probe_at": server.lastProbeStart.map { .string(Self.timestamp(wallNow - (now - $0).timeInterval)) } ?? .null,
                    "last_latency_ms": server.lastLatency.map { .double(($0.milliseconds * 1_000).rounded() / 1_000) } ?? .null,
                    "last_error": server.lastError.map(JSONValue.string) ?? .null,
                    "consecutive_failures": .int(server.consecutiveFailures),
                    "held_by_report": server.heldBy.map { .string($0.rawValue) } ?? .null,
                    "reports_last_minute": .object(["busy": .int(server.busyReports), "failed": .int(server.failedReports)]),
                ])
            }),
        ])
        return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(bytes: body.encoded())))
    }

    private static func timestamp(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}

extension Duration {
    /// The duration in seconds, for date arithmetic.
    var timeInterval: TimeInterval { milliseconds / 1_000 }
}
