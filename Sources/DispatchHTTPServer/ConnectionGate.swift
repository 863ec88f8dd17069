import Synchronization

/// Counts the open HTTP connections and refuses those past the limit, so that a flood of
/// connections cannot take the descriptors that the connections already open, the health
/// probes and the database need (docs/SECURITY.md, "Slow, idle and flooding clients").
///
/// One per server, shared by every event loop: a single atomic counter, touched once when a
/// connection opens and once when it closes, never per request.
public final class ConnectionGate: Sendable {
    /// The most connections admitted at once.
    public let limit: Int
    private let metrics: any ConnectionMetrics
    private let open = Atomic<Int>(0)

    /// A gate admitting at most `limit` connections at once, counting them in `metrics`.
    public init(limit: Int, metrics: any ConnectionMetrics) {
        self.limit = limit
        self.metrics = metrics
    }

    /// The connections admitted and not yet released.
    public var openConnections: Int { open.load(ordering: .relaxed) }

    /// Admits a new connection when fewer than `limit` are open; otherwise counts it as refused.
    /// Every `true` must be matched by one ``release()`` when the connection closes.
    public func admit() -> Bool {
        let count = open.wrappingAdd(1, ordering: .relaxed).newValue
        guard count <= limit else {
            open.wrappingSubtract(1, ordering: .relaxed)
            metrics.recordConnectionRefused()
            return false
        }
        metrics.recordConnectionsOpen(change: 1)
        return true
    }

    /// A connection admitted by ``admit()`` has closed.
    public func release() {
        open.wrappingSubtract(1, ordering: .relaxed)
        metrics.recordConnectionsOpen(change: -1)
    }
}
