/// How the PostgreSQL store connects, waits and reconnects. Every field has a default that suits
/// a dispatcher on the same network as its database.
public struct PostgresStoreConfiguration: Sendable, Equatable {
    /// Bound on opening a connection (TCP, TLS and authentication together).
    public var connectTimeout: Duration
    /// Bound on one read or one write transaction; past it the connection is dropped and the
    /// store counts as unreachable, so a hung server never holds a request for long.
    public var statementTimeout: Duration
    /// The listener's first wait before reconnecting; doubled after each failed attempt...
    public var reconnectDelayMinimum: Duration
    /// ...up to this, so a restarted server is reached again within this long.
    public var reconnectDelayMaximum: Duration
    /// How often the listener reads the version even without a notification: covers anything a
    /// notification could miss, and notices a connection that died silently.
    public var periodicCheckInterval: Duration

    /// Creates a configuration; every parameter has a default.
    /// - Parameters:
    ///   - connectTimeout: bound on opening a connection (default 2 s).
    ///   - statementTimeout: bound on one read or write (default 5 s).
    ///   - reconnectDelayMinimum: the listener's first reconnect delay (default 50 ms).
    ///   - reconnectDelayMaximum: the longest reconnect delay (default 500 ms).
    ///   - periodicCheckInterval: the listener's version check without notification (default 5 s).
    public init(
        connectTimeout: Duration = .seconds(2),
        statementTimeout: Duration = .seconds(5),
        reconnectDelayMinimum: Duration = .milliseconds(50),
        reconnectDelayMaximum: Duration = .milliseconds(500),
        periodicCheckInterval: Duration = .seconds(5)
    ) {
        self.connectTimeout = connectTimeout
        self.statementTimeout = statementTimeout
        self.reconnectDelayMinimum = reconnectDelayMinimum
        self.reconnectDelayMaximum = reconnectDelayMaximum
        self.periodicCheckInterval = periodicCheckInterval
    }

    /// The delay before reconnect attempt `attempt` (1, 2, …): minimum × 2^(attempt−1), capped
    /// at the maximum.
    public func reconnectDelay(attempt: Int) -> Duration {
        var delay = reconnectDelayMinimum
        for _ in 1..<max(1, min(attempt, 32)) where delay < reconnectDelayMaximum { delay *= 2 }
        return min(delay, reconnectDelayMaximum)
    }
}
