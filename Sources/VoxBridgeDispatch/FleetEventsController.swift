import DispatchHTTPServer
import HTTPTypes
import Hummingbird
import ServiceLifecycle

/// `GET /v1/fleet/events`: the fleet as server-sent events, for the operator's page and scripts.
///
/// Each event's `data` is the JSON of `GET /v1/fleet` plus a `totals` object; one arrives at
/// once, then at least once a second. The pick token guards it like `GET /v1/fleet`
/// (`EventSource` cannot send headers: the page reads the stream with `fetch`).
struct FleetEventsController: Sendable {
    let hub: EventStreamHub
    let access: AccessControl

    static let headers: HTTPFields = [
        .contentType: "text/event-stream; charset=utf-8",
        .cacheControl: "no-store",
        // Proxies such as nginx would otherwise hold events back to fill a buffer.
        HTTPField.Name("X-Accel-Buffering")!: "no",
    ]

    func addRoutes(to router: Router<some RequestContext>) {
        router.get("/v1/fleet/events") { request, _ in try self.events(request) }
        // A HEAD answered as the GET would hold a stream slot with nobody reading.
        router.head("/v1/fleet/events") { request, _ in
            try access.requirePicker(request)
            return Response(status: .ok, headers: Self.headers)
        }
    }

    private func events(_ request: Request) throws -> Response {
        try access.requirePicker(request)
        let subscription: EventStreamHub.Subscription
        do {
            subscription = try hub.subscribe()
        } catch .full {
            throw APIError(status: .serviceUnavailable, code: "too_many_streams",
                           message: "\(hub.maximumStreams) event streams are open already; poll GET /v1/fleet or retry later",
                           headers: [.retryAfter: "5"])
        } catch {
            throw APIError(status: .serviceUnavailable, code: "shutting_down",
                           message: "the service is stopping", headers: [.retryAfter: "1"])
        }
        return Response(status: .ok, headers: Self.headers, body: ResponseBody { writer in
            // However it ends (the reader went away, shutdown), free the slot.
            defer { subscription.end() }
            // Tells EventSource readers to reconnect after 1 s rather than their default 3 s.
            try await writer.write(ByteBuffer(string: "retry: 1000\n\n"))
            // The server's graceful shutdown waits for requests in flight: end this one then,
            // even before the event service closes the hub.
            try await withGracefulShutdownHandler {
                for await event in subscription.events {
                    try await writer.write(event)
                }
            } onGracefulShutdown: {
                subscription.end()
            }
            try await writer.finish(nil)
        })
    }
}
