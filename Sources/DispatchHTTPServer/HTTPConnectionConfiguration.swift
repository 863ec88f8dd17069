import NIOCore

/// How long the HTTP server waits for slow and idle clients, how many connections it serves at
/// once (`--request-timeout-ms`, `--idle-timeout-ms`, `--max-connections`), and how fast it takes
/// new ones from the kernel (fixed, not options); see docs/SECURITY.md, "Slow, idle and flooding
/// clients". Every field has its documented default: start from `init()` and set what differs.
public struct HTTPConnectionConfiguration: Sendable, Equatable {
    /// Bound on a request's head and body, from its first byte (from the connection's opening
    /// for its first request); past it the request is answered 408 and the connection closed.
    public var requestTimeout: TimeAmount = .seconds(10)
    /// Bound on a keep-alive connection waiting for its next request.
    public var idleTimeout: TimeAmount = .seconds(60)
    /// The most connections served at once; past it new connections are closed at once.
    public var maxConnections: Int = 1_024
    /// The most new connections taken from the kernel's queue at a time (NIO's
    /// `maxMessagesPerRead` on the listening socket; 4 is NIO's own default). At least 1.
    public var acceptBatch: UInt = 4
    /// The least time between two batches of accepts (``AcceptPacer``): with the batch, at most
    /// 4,000 new connections a second, far more than callers that keep their connections open
    /// need, and few enough to bound how long a flood can hold up the connections already open.
    public var acceptInterval: TimeAmount = .milliseconds(1)
    /// How many connections the kernel keeps waiting to be accepted (the listen backlog; Linux
    /// caps it at `net.core.somaxconn`, 4,096 by default). Hummingbird's default is 256; with
    /// accepts spaced, 1,024 lets a burst of reconnecting callers (a restart, a failover) wait a
    /// quarter of a second at most instead of having their connects dropped and retried a
    /// second later by their kernel.
    public var listenBacklog: Int = 1_024

    /// The defaults.
    public init() {}

    /// The default connection limit for a process allowed `fileLimit` descriptors: the limit less
    /// a reserve of a quarter of it, and at least 1,024 (half the limit below 2,048).
    ///
    /// Why a reserve: the process needs descriptors beside its connections (the SQLite file and
    /// its WAL and shared-memory files, one socket and resolver pair per health probe in flight
    /// for up to 256 fleet servers, the event loops' epoll and event descriptors, and one for a
    /// moment for each connection accepted only to be refused). Without it a flood of
    /// connections would leave none for health probes or the database, and healthy fleet
    /// servers would be marked down.
    public static func defaultMaxConnections(fileLimit: Int) -> Int {
        ConnectionBudget.allowed(fileLimit: fileLimit)
    }
}
