import Logging
import ServiceLifecycle
import ServiceMetrics
import SettingsStore

/// Runs the settings store's change feed (the PostgreSQL listener) for as long as the application
/// runs, logging one line and setting `voxbridge_store_up` per transition between reachable and
/// unreachable.
struct StoreFollowService: Service {
    let feed: any FleetChangeFeed
    let metrics: DispatchMetrics
    let logger: Logger

    func run() async throws {
        metrics.setStoreUp(feed.availability == .available)
        let (metrics, logger) = (metrics, logger)
        try await cancelWhenGracefulShutdown {
            await feed.run { availability in
                metrics.setStoreUp(availability == .available)
                switch availability {
                case .available:
                    logger.notice("settings store reachable again; writes are accepted")
                case .unavailable(let reason):
                    logger.error("settings store unreachable, picks use the last list loaded and writes answer 503: \(reason)")
                }
            }
        }
        // A feed with nothing to run (SQLite) returns at once; stay until shutdown, as a service
        // that ends early would stop the whole group.
        try? await gracefulShutdown()
    }
}
