/// What the connection layer counts: the service's metrics conform, so this module needs no
/// metrics backend of its own and names no type of the service.
public protocol ConnectionMetrics: Sendable {
    /// A connection was admitted (`+1`) or closed (`-1`).
    func recordConnectionsOpen(change: Int)
    /// A connection was closed at once because the connection limit was reached.
    func recordConnectionRefused()
    /// The connection limit in force now (it follows the file limit).
    func recordConnectionLimit(_ limit: Int)
    /// Connections closed because a lower file limit left no room for them.
    func recordConnectionsShed(_ count: Int)
    /// A request was closed (and answered 408 where it could be) by the request timeout.
    func recordRequestTimedOut()
    /// A connection was closed for waiting too long for a request.
    func recordConnectionClosedIdle()
}
