import ServiceLifecycle

/// Steps this instance down at the start of graceful shutdown (the lease and membership loops,
/// ``ClusterCoordinator/runLoops()``, run beside it until `serve` cancels them).
///
/// `serve` runs it beside the application in one service group, *after* the application in the
/// group's order, so it gets graceful shutdown first (a group stops its services in reverse
/// order). The leader then ends its term at once, another instance leads within a poll
/// interval, and the requests the HTTP server still drains are forwarded to that one: the
/// lease loop keeps reading the lease until the application has stopped and `serve` cancels it.
public struct ClusterService<C: Clock>: Service where C.Duration == Duration {
    /// The coordinator to step down.
    let coordinator: ClusterCoordinator<C>

    /// A service stepping `coordinator` down.
    public init(coordinator: ClusterCoordinator<C>) {
        self.coordinator = coordinator
    }

    /// Waits for graceful shutdown, then steps down.
    public func run() async throws {
        // Returns at graceful shutdown; throws if the group cancels this service instead.
        try? await gracefulShutdown()
        await coordinator.stepDown()
    }
}
