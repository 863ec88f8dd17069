import DispatchHTTPServer
import FleetPicker
import HealthProber
import Logging
import ServiceLifecycle

/// Runs the coordinator's background probes of down servers until graceful shutdown.
struct BackgroundProbeService: Service {
    let coordinator: ServiceFleet

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await coordinator.runBackgroundProbes()
        }
    }
}

/// Owns the prober's curl thread for the life of the service group: it is stopped last, after
/// the HTTP server has answered the picks in flight.
struct ProberService: Service {
    let prober: HealthProber

    func run() async throws {
        // Returns (or throws on cancellation) when the group shuts down; either way, stop curl.
        try? await gracefulShutdown()
        prober.shutdown()
    }
}
