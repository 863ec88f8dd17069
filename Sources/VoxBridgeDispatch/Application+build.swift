import DispatchHTTPServer
import FleetPicker
import HealthProber
import Hummingbird
import HummingbirdCore
import IngressSync
import Logging
import NIOCore
import ServiceMetrics
import SettingsStore

/// The request context of every route.
typealias DispatchRequestContext = BasicRequestContext

/// Builds the whole HTTP application: what `serve` runs and what the tests drive.
///
/// - Parameters:
///   - configuration: the resolved configuration (host, port, tokens, picker options).
///   - store: the open settings store (SQLite or PostgreSQL; this code does not know which).
///   - logger: the process's logger.
///   - metrics: the process's metrics (the cluster's parts count into them too).
///   - cluster: in a cluster, the lease, the forwarder and the replicator (``ClusterParts``).
///   - onServerRunning: called with the real bound port once the server is listening.
func buildApplication(
    configuration: DispatchConfiguration,
    store: any FleetSettingsStore,
    logger: Logger,
    metrics: DispatchMetrics = DispatchMetrics(),
    cluster: ClusterParts? = nil,
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) async throws -> some ApplicationProtocol {
    let prober = try HealthProber(configuration: configuration.proberConfiguration)
    let events = EventStreamHub(maximumStreams: configuration.events.maximumStreams)
    let coordinator = FleetCoordinator(
        configuration: configuration.pickerConfiguration,
        prober: HealthProberAdapter(prober: prober, metrics: metrics),
        clock: EventLoopClock(),
        observer: { event in
            // One line per state change; nothing per pick or per good probe at the default level.
            switch event {
            case .stateChanged(let server, let from, let to, let reason):
                // Open pages see a state change at once, not at the next tick.
                events.nudge()
                let because = reason.map { " (\($0))" } ?? ""
                if to == .down {
                    logger.warning("fleet server \(server) \(from.rawValue) -> \(to.rawValue)\(because)")
                } else {
                    logger.info("fleet server \(server) \(from.rawValue) -> \(to.rawValue)\(because)")
                }
            case .reportCapped(let server, let cap):
                // Counted each time, logged once until the cap has room again.
                metrics.recordReportCapped()
                if cap.first {
                    logger.warning("callers' failed releases hold back \(cap.held) of \(cap.healthy) healthy fleet servers, the most --max-held-percent allows: the one on \(server) holds nothing back; later ones are counted in reports_last_minute.capped until there is room")
                }
            case .probeFinished:
                break
            }
        })
    let feed = try await store.makeChangeFeed()
    let follower = FleetListFollower(feed: feed, coordinator: coordinator, logger: logger)
    follower.refresh()

    let ingress = IngressViewCache(store: store, logger: logger)
    let runtime = FleetRuntime(
        fleet: coordinator, follower: follower, metrics: metrics,
        access: AccessControl(adminToken: configuration.adminToken, pickToken: configuration.pickToken, clusterSecrets: configuration.clusterSecrets),
        ingress: ingress, cluster: cluster)
    let router = buildRouter(runtime: runtime, store: store, feed: feed, prober: prober, events: events)
    let fileLimit = FileLimit.current()?.soft ?? 1_024
    let connections = configuration.connectionConfiguration(fileLimit: fileLimit)
    let gate = ConnectionGate(budget: configuration.connectionBudget, fileLimit: fileLimit, metrics: metrics)
    var application = Application(
        responder: JSONErrorResponder(inner: AllowedMethodsResponder(router: router)),
        // Per connection: the limit, the timeouts, and the fast path that answers ready picks
        // before the router. No Hummingbird idle timeout: it would not see the fast path's picks.
        server: .gatedHTTP1(
            configuration: connections, gate: gate, metrics: metrics,
            serviceHandlers: { [PickFastPathHandler(runtime)] }),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), backlog: connections.listenBacklog),
        onServerRunning: { channel in
            // Accepts are spaced from here on, so a flood of new connections is bounded in how
            // long it can hold up the connections already open.
            do {
                try await AcceptPacer.install(on: channel, configuration: connections)
            } catch {
                logger.error("could not space accepts on the listening socket (\(error)); new connections are taken as fast as they come")
            }
            await onServerRunning(channel.localAddress?.port ?? configuration.port)
        },
        logger: logger
    )
    // Services stop in reverse order, after the HTTP server: the event streams (each stream
    // also ends by itself when the server's graceful shutdown starts), background probes, curl,
    // then the store's listener.
    application.addServices(
        FileLimitWatcher(gate: gate, clock: ContinuousClock(), logger: logger),
        StoreFollowService(feed: feed, metrics: metrics, logger: logger),
        ProberService(prober: prober), BackgroundProbeService(coordinator: coordinator),
        FleetEventService(hub: events, runtime: runtime, configuration: configuration.events), ingress)
    // Hummingbird stops its server before these services: the last decisions are sent to the
    // members once the requests are answered. (The lease is given up before the server drains:
    // `serve` runs ClusterService beside the application.)
    if let cluster {
        application.addServices(cluster.replicator)
    }
    return application
}

/// The router with every route of the API (wrapped in ``AllowedMethodsResponder`` and
/// ``JSONErrorResponder`` by the application).
func buildRouter(
    runtime: FleetRuntime,
    store: any FleetSettingsStore,
    feed: any FleetChangeFeed,
    prober: HealthProber,
    events: EventStreamHub
) -> Router<DispatchRequestContext> {
    let router = Router(context: DispatchRequestContext.self)

    // Still 200 while the store is unreachable: the process serves picks from the last list
    // loaded, so a supervisor must not restart it; the body says what is missing.
    router.get("/health") { _, _ in
        var reasons: [String] = []
        if case .unavailable(let reason) = feed.availability { reasons.append("settings store unreachable: \(reason)") }
        if let coordinator = runtime.cluster?.coordinator {
            if coordinator.role() == .degraded {
                reasons.append("cluster database unreachable: this instance decides alone")
            } else if !coordinator.status().databaseReachable {
                reasons.append("cluster database unreachable: picks and releases go to the leader the other members report")
            }
            if case .forward(let leader) = coordinator.route(), coordinator.isUnreachable(leader) {
                reasons.append("cluster leader \(leader) out of reach from here: picks and releases are relayed through the other members")
            }
        }
        let body: JSONValue = reasons.isEmpty
            ? .object(["status": .string("ok")])
            : .object(["status": .string("degraded"), "reason": .string(reasons.joined(separator: "; "))])
        return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(bytes: body.encoded())))
    }
    SettingsController(store: store, access: runtime.access).addRoutes(to: router)
    FleetAdminController(store: store, access: runtime.access).addRoutes(to: router)
    PickController(runtime: runtime).addRoutes(to: router)
    ClusterController(runtime: runtime).addRoutes(to: router)
    FleetStatusController(runtime: runtime).addRoutes(to: router)
    FleetEventsController(hub: events, access: runtime.access).addRoutes(to: router)
    FleetVerifyController(prober: prober, access: runtime.access).addRoutes(to: router)
    OperatorPageController().addRoutes(to: router)
    return router
}
