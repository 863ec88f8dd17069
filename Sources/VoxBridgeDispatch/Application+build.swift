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
) -> some ApplicationProtocol {
    let router = buildRouter(configuration: configuration, store: store)
    return Application(
        router: router,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "voxbridge-dispatch"),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
        logger: logger
    )
}

/// The router with every route of the API and the JSON error middleware.
func buildRouter(configuration: DispatchConfiguration, store: SettingsStore) -> Router<DispatchRequestContext> {
    let router = Router(context: DispatchRequestContext.self)
    router.add(middleware: JSONErrorMiddleware())
    let access = AccessControl(adminToken: configuration.adminToken, pickToken: configuration.pickToken)

    router.get("/health") { _, _ in
        Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
                 body: .init(byteBuffer: ByteBuffer(string: #"{"status":"ok"}"#)))
    }
    SettingsController(store: store, access: access).addRoutes(to: router)
    return router
}
