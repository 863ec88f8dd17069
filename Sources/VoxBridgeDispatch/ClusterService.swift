import ServiceLifecycle

/// The lease and membership loops of ``ClusterCoordinator`` as one service. At graceful
/// shutdown it steps down before the HTTP server drains (services stop in reverse order), so
/// the requests still in flight are forwarded to the instance taking over, which does so at once.
struct ClusterService: Service {
    let coordinator: ClusterCoordinator

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
