import NIOCore
import Synchronization

/// Counts the open HTTP connections and refuses those past the limit, so that a flood of
/// connections cannot take the descriptors that the connections already open, the health
/// probes, the database and the runtime need (docs/SECURITY.md, "Slow, idle and flooding
/// clients").
///
/// The limit follows the process's file limit (``follow(fileLimit:)``, called by
/// ``FileLimitWatcher``): when the limit is lowered under the connections open, the newest
/// connections are closed until the rest fit. The oldest are the callers that keep their
/// connections open; a flood is always the newest.
///
/// One per server, shared by every event loop: an atomic counter for the decision, and a lock
/// held for an insert or a removal when a connection opens or closes, never per request.
public final class ConnectionGate: Sendable {
    /// The connections admitted, each with its admission number, newest highest.
    private struct Admitted: Sendable {
        var next: UInt64 = 0
        var channels: [ObjectIdentifier: (order: UInt64, channel: any Channel)] = [:]
    }

    /// A change of the limit, and the connections closed for it.
    public struct LimitChange: Sendable, Equatable {
        /// The file limit read.
        public var fileLimit: Int
        /// The connection limit before.
        public var from: Int
        /// The connection limit now.
        public var to: Int
        /// Connections closed because they no longer fit.
        public var closed: Int
    }

    /// What decides the limit.
    public let budget: ConnectionBudget
    private let current: Atomic<Int>
    private let metrics: any ConnectionMetrics
    private let open = Atomic<Int>(0)
    private let admitted = Mutex(Admitted())

    /// A gate for `budget` at `fileLimit`, counting in `metrics`.
    public init(budget: ConnectionBudget, fileLimit: Int, metrics: any ConnectionMetrics) {
        self.budget = budget
        self.metrics = metrics
        current = Atomic(budget.cap(fileLimit: fileLimit))
        metrics.recordConnectionLimit(budget.cap(fileLimit: fileLimit))
    }

    /// A gate admitting at most `limit` connections at once, whatever the file limit.
    public convenience init(limit: Int, metrics: any ConnectionMetrics) {
        self.init(budget: ConnectionBudget(configured: limit), fileLimit: .max / 2, metrics: metrics)
    }

    /// The most connections admitted at once now.
    public var limit: Int { current.load(ordering: .relaxed) }

    /// The connections admitted and not yet released.
    public var openConnections: Int { open.load(ordering: .relaxed) }

    /// Admits a new connection when fewer than ``limit`` are open; otherwise counts it as refused.
    /// Every `true` must be matched by one ``release(_:)`` when the connection closes.
    public func admit(_ channel: any Channel) -> Bool {
        let count = open.wrappingAdd(1, ordering: .relaxed).newValue
        guard count <= limit else {
            open.wrappingSubtract(1, ordering: .relaxed)
            metrics.recordConnectionRefused()
            return false
        }
        admitted.withLock { admitted in
            admitted.next += 1
            admitted.channels[ObjectIdentifier(channel)] = (admitted.next, channel)
        }
        metrics.recordConnectionsOpen(change: 1)
        return true
    }

    /// A connection admitted by ``admit(_:)`` has closed.
    public func release(_ channel: any Channel) {
        _ = admitted.withLock { $0.channels.removeValue(forKey: ObjectIdentifier(channel)) }
        open.wrappingSubtract(1, ordering: .relaxed)
        metrics.recordConnectionsOpen(change: -1)
    }

    /// Sets the limit for `fileLimit` and, when it fell under the connections open, closes the
    /// newest until the rest fit. Connections close on their own event loops, a moment later.
    /// - Returns: The change, or `nil` when the limit is the same.
    @discardableResult
    public func follow(fileLimit: Int) -> LimitChange? {
        let cap = budget.cap(fileLimit: fileLimit)
        let before = current.exchange(cap, ordering: .relaxed)
        guard before != cap else { return nil }
        metrics.recordConnectionLimit(cap)
        let excess = openConnections - cap
        guard excess > 0 else { return LimitChange(fileLimit: fileLimit, from: before, to: cap, closed: 0) }
        let newest = admitted.withLock { admitted in
            admitted.channels.values.sorted { $0.order > $1.order }.prefix(excess).map(\.channel)
        }
        for channel in newest { channel.close(promise: nil) }
        metrics.recordConnectionsShed(newest.count)
        return LimitChange(fileLimit: fileLimit, from: before, to: cap, closed: newest.count)
    }
}
