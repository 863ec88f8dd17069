import ServiceLifecycle

/// The lease and membership loops of ``ClusterCoordinator`` as one service. Hummingbird stops
/// its HTTP server first and this service after it: the leader answers the requests it has,
/// then ends its term in the database (instead of letting it lapse) and removes its member row,
/// so another instance leads within a poll interval. Meanwhile the followers' forwards to it are
/// refused, and they wait for the next leader.
struct ClusterService: Service {
    /// The coordinator whose loops this runs.
    let coordinator: ClusterCoordinator

    /// Runs the loops until graceful shutdown, then steps down.
    func run() async throws {
        let coordinator = coordinator
        try? await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask { await coordinator.runLease() }
                group.addTask { await coordinator.runHeartbeats() }
            }
        }
        await coordinator.stepDown()
    }
}
