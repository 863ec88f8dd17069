import FleetPicker
import HealthProber
import Hummingbird
import Logging
import SettingsStore

/// The request context of every route.
typealias DispatchRequestContext = BasicRequestContext

/// Builds the whole HTTP application: what `serve` runs and what the tests drive.
///
/// - Parameters:
///   - configuration: the resolved configuration (host, port, tokens, picker options).
///   - store: the open settings database.
///   - logger: the process's logger.
///   - onServerRunning: called with the real bound port once the server is listening.
func buildApplication(
    configuration: DispatchConfiguration,
    store: SettingsStore,
    logger: Logger,
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) throws -> some ApplicationProtocol {
    let prober = try HealthProber(configuration: configuration.proberConfiguration)
    let metrics = DispatchMetrics()
    let events = FleetEventHub(maximumStreams: configuration.events.maximumStreams)
    let coordinator = FleetCoordinator(
        configuration: configuration.pickerConfiguration,
        prober: HealthProberAdapter(prober: prober, metrics: metrics),
        clock: ContinuousClock(),
        observer: { event in
            // One line per state change; nothing per pick or per good probe at the default level.
            if case .stateChanged(let server, let from, let to, let reason) = event {
                // Open pages see a state change at once, not at the next tick.
                events.nudge()
                let because = reason.map { " (\($0))" } ?? ""
                if to == .down {
                    logger.warning("fleet server \(server) \(from.rawValue) -> \(to.rawValue)\(because)")
                } else {
                    logger.info("fleet server \(server) \(from.rawValue) -> \(to.rawValue)\(because)")
                }
            }
        })
    let follower = FleetListFollower(store: store, coordinator: coordinator, logger: logger)
    follower.refresh()

    let access = AccessControl(adminToken: configuration.adminToken, pickToken: configuration.pickToken)
    let router = buildRouter(
        store: store, coordinator: coordinator, follower: follower, metrics: metrics, access: access,
        prober: prober, events: events)
    let fastPath = PickFastPathHandler.Dependencies(coordinator: coordinator, follower: follower, metrics: metrics, access: access)
    var application = Application(
        responder: JSONErrorResponder(inner: AllowedMethodsResponder(router: router)),
        // A new fast-path handler per connection; it answers ready picks before the router.
        // No idle timeout: Hummingbird's would not see the picks answered there (see the handler).
        server: .http1(configuration: .init(additionalChannelHandlers: [PickFastPathHandler(fastPath)])),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port)),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
        logger: logger
    )
    // Services stop in reverse order, after the HTTP server: the event streams (each stream
    // also ends by itself when the server's graceful shutdown starts), background probes, then curl.
    application.addServices(
        ProberService(prober: prober), BackgroundProbeService(coordinator: coordinator),
        FleetEventService(hub: events, coordinator: coordinator, follower: follower, metrics: metrics,
                          configuration: configuration.events))
    return application
}

/// The router with every route of the API (wrapped in ``AllowedMethodsResponder`` and
/// ``JSONErrorResponder`` by the application).
func buildRouter(
    store: SettingsStore,
    coordinator: FleetCoordinator<ContinuousClock>,
    follower: FleetListFollower,
    metrics: DispatchMetrics,
    access: AccessControl,
    prober: HealthProber,
    events: FleetEventHub
) -> Router<DispatchRequestContext> {
    let router = Router(context: DispatchRequestContext.self)

    router.get("/health") { _, _ in
        Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
                 body: .init(byteBuffer: ByteBuffer(string: #"{"status":"ok"}"#)))
    }
    SettingsController(store: store, access: access).addRoutes(to: router)
    PickController(coordinator: coordinator, follower: follower, metrics: metrics, access: access).addRoutes(to: router)
    FleetStatusController(coordinator: coordinator, follower: follower, metrics: metrics, access: access).addRoutes(to: router)
    FleetEventsController(hub: events, access: access).addRoutes(to: router)
    FleetVerifyController(prober: prober, access: access).addRoutes(to: router)
    OperatorPageController().addRoutes(to: router)
    return router
}
