import ArgumentParser
import DispatchCluster
import DispatchHTTPServer
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import ServiceMetrics
import SettingsStore

/// `voxbridge-dispatch serve`: opens the settings store (SQLite or PostgreSQL) and serves the HTTP API until
/// SIGTERM or SIGINT, then finishes the requests in flight and exits 0.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the pick and settings API (the default subcommand)."
    )

    @OptionGroup var options: ServeOptions

    func run() async throws {
        let configuration = try options.resolve(environment: ProcessInfo.processInfo.environment)
        guard configuration.adminToken != nil || configuration.bindsLoopbackOnly else {
            throw CommandLineFailure(
                "refusing to bind \(configuration.host) without VOXBRIDGE_ADMIN_TOKEN: settings writes would be open to the network; set the token or bind 127.0.0.1")
        }
        for (variable, token) in [(ServeOption.adminTokenVariable, configuration.adminToken), (ServeOption.pickTokenVariable, configuration.pickToken),
                                  (ServeOption.clusterSecretVariable, configuration.clusterSecret),
                                  (ServeOption.previousClusterSecretVariable, configuration.clusterSecretPrevious)] {
            if let token, PlaceholderToken.isPlaceholder(token) {
                throw CommandLineFailure(
                    "refusing to start: \(variable) is a placeholder from a template; set a random one (openssl rand -hex 32)")
            }
        }
        let logger = makeLogger(level: configuration.logLevel)
        try Self.raiseFileLimit(configuration: configuration, logger: logger)
        let store = try await CommandLineFailure.wrap { () async throws(SettingsStoreError) in
            try await configuration.settingsStore.open(logger: logger)
        }
        let metrics = DispatchMetrics()
        let cluster = try await Self.joinCluster(configuration: configuration, metrics: metrics, logger: logger)
        do {
            let application = try await Self.application(configuration: configuration, store: store, logger: logger, metrics: metrics, cluster: cluster)
            if let cluster {
                try await Self.run(application, in: cluster, logger: logger)
            } else {
                try await application.runService()
            }
        } catch {
            // The forwarder's HTTP client must be shut down before it is released.
            await cluster?.close()
            await store.close()
            throw error
        }
        await cluster?.close()
        await store.close()
    }

    /// Runs the application of a cluster member: the lease and membership loops beside it (until
    /// it has stopped), and ``ClusterService`` after it in one service group, so that at SIGTERM
    /// the lease is given up first and the requests the server drains are forwarded to the next
    /// leader.
    static func run(_ application: some ApplicationProtocol, in cluster: ClusterParts, logger: Logger) async throws {
        let group = ServiceGroup(configuration: .init(
            services: [application, ClusterService(coordinator: cluster.coordinator)],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { await cluster.coordinator.runLoops() }
            defer { tasks.cancelAll() }
            try await group.run()
        }
    }

    /// With `--advertise-url`: the cluster's parts, its tables created when missing.
    static func joinCluster(
        configuration: DispatchConfiguration, metrics: DispatchMetrics, logger: Logger
    ) async throws(CommandLineFailure) -> ClusterParts? {
        guard let advertiseURL = configuration.advertiseURL, case .postgres(let url) = configuration.settingsStore else { return nil }
        do {
            let parts = try await ClusterParts.join(
                storeURL: url, advertiseURL: advertiseURL, configuration: configuration, metrics: metrics, logger: logger)
            logger.info("cluster: joining as \(advertiseURL) through \(url.description)")
            return parts
        } catch {
            throw CommandLineFailure("cannot join the cluster: \(error)")
        }
    }
}

extension ServeCommand {
    /// The application, or a one-line failure when it cannot be built (an unusable CA file).
    static func application(
        configuration: DispatchConfiguration, store: any FleetSettingsStore, logger: Logger,
        metrics: DispatchMetrics = DispatchMetrics(), cluster: ClusterParts? = nil
    ) async throws(CommandLineFailure) -> some ApplicationProtocol {
        do {
            // Supervisors, scripts and tests wait for this line: it is written at any log level.
            var lifecycleLogger = logger
            lifecycleLogger.logLevel = min(logger.logLevel, .info)
            return try await buildApplication(
                configuration: configuration, store: store, logger: logger, metrics: metrics, cluster: cluster
            ) { [lifecycleLogger] port in
                lifecycleLogger.info("listening on \(configuration.baseURL(port: port))")
            }
        } catch {
            throw CommandLineFailure("cannot start: \(error)")
        }
    }
}

extension ServeCommand {
    /// Raises the soft file limit to the hard one, so the connection limit derived from it is as
    /// high as the system allows, and logs what it got and the connection limit (one line). The
    /// limit is followed while the service runs (``FileLimitWatcher``).
    /// - Throws: a one-line failure when `--max-connections` is more than the limit allows.
    static func raiseFileLimit(configuration: DispatchConfiguration, logger: Logger) throws(CommandLineFailure) {
        guard let limit = FileLimit.raiseToHardLimit() else {
            logger.warning("cannot read the file limit (RLIMIT_NOFILE)")
            return
        }
        _ = try CommandLineFailure.wrap { () throws(ConnectionBudgetError) in
            try configuration.connectionBudget.validated(fileLimit: limit.now)
        }
        let raised = limit.now > limit.before ? " (raised from \(limit.before))" : ""
        let connections = configuration.connectionConfiguration(fileLimit: limit.now)
        var lifecycleLogger = logger
        lifecycleLogger.logLevel = min(logger.logLevel, .info)
        lifecycleLogger.info("""
            file limit \(limit.now) descriptors\(raised); at most \(connections.maxConnections) connections, \
            new ones accepted \(connections.acceptBatch) at a time at most every \(connections.acceptInterval.nanoseconds / 1_000) µs
            """)
    }
}

/// The process's logger: one line per event on standard output, flushed at once so that a
/// supervisor or a test reading a pipe sees it immediately.
func makeLogger(level: String) -> Logger {
    LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardOutput(label: label)
        handler.logLevel = Logger.Level(rawValue: level) ?? .info
        return handler
    }
    var logger = Logger(label: "voxbridge-dispatch")
    logger.logLevel = Logger.Level(rawValue: level) ?? .info
    return logger
}
