import Logging
import PostgresNIO
import PostgresSettingsStore
import SettingsStore
import Synchronization

/// The lease and the membership rows in PostgreSQL: the round trips ``LeaseState`` asks for.
///
/// The lease is one row (`voxbridge_lease`) with its holder, fencing number and expiry. Taking and
/// renewing are one statement that updates the row only when this instance holds it or it has
/// lapsed, and reads it back either way, so a round trip both acts and tells who leads. Expiry is
/// stamped and compared by the database's clock alone. An advisory lock would not do: it lives as
/// long as its connection, and a frozen process keeps its connection open.
///
/// The lease has a session (one connection) of its own, so renewals never queue behind a
/// settings write or a heartbeat, and every call is bounded by the lease's `attemptTimeout`; the
/// membership rows have another.
public final class PostgresLease: Sendable {
    /// This instance's identity in the lease and membership rows.
    public let identity: String
    /// The URL the other instances reach this one at.
    public let url: String
    /// The lease's and the membership's sessions; each replaced by a fresh one when a round
    /// trip on it is abandoned (``bounded(_:_:)``).
    private let sessions: Mutex<(lease: PostgresSession, members: PostgresSession)>
    private let storeURL: PostgresStoreURL
    private let bounds: PostgresStoreConfiguration
    /// The most a round trip may take, connect included, before it is abandoned.
    private let limit: Duration
    /// For creating the tables at start only: default bounds, which a busy server at start-up
    /// may need.
    private let setupSession: PostgresSession
    private let logger: Logger

    /// Prepares the lease's own connection (opened at the first call).
    /// - Throws: ``PostgresStoreURLError`` for settings postgres-nio cannot use.
    public init(url storeURL: PostgresStoreURL, identity: String, advertiseURL: String,
                configuration: LeaseConfiguration, logger: Logger) throws(PostgresStoreURLError) {
        self.identity = identity
        self.url = advertiseURL
        self.logger = logger
        // Each round trip is bounded by the attempt timeout. Opening a connection (TCP, TLS,
        // authentication) may take longer on a busy server; bounding it by the same 200 ms would
        // make a reconnect under load fail again and again, so it gets five times that.
        let bounds = PostgresStoreConfiguration(connectTimeout: configuration.attemptTimeout * 5, statementTimeout: configuration.attemptTimeout)
        self.storeURL = storeURL
        self.bounds = bounds
        self.limit = configuration.attemptTimeout * 6
        sessions = Mutex((try PostgresSession(url: storeURL, configuration: bounds, logger: logger),
                          try PostgresSession(url: storeURL, configuration: bounds, logger: logger)))
        setupSession = try PostgresSession(url: storeURL, configuration: PostgresStoreConfiguration(), logger: logger)
    }

    /// Creates the lease and membership tables when missing. Instances starting together take
    /// turns on a transaction-scoped advisory lock.
    public func prepare() async throws(SettingsStoreError) {
        let logger = logger
        do {
            try await createTables(logger: logger)
        } catch {
            await setupSession.close()
            throw error
        }
        await setupSession.close()
    }

    private func createTables(logger: Logger) async throws(SettingsStoreError) {
        try await setupSession.transaction { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.schemaLockKey))", logger: logger)
            try await connection.query("""
                CREATE TABLE IF NOT EXISTS voxbridge_lease (
                    name text PRIMARY KEY,
                    holder text NOT NULL,
                    holder_url text NOT NULL,
                    fencing bigint NOT NULL,
                    expires_at timestamptz NOT NULL
                )
                """, logger: logger)
            try await connection.query("""
                CREATE TABLE IF NOT EXISTS voxbridge_members (
                    id text PRIMARY KEY,
                    url text NOT NULL,
                    role text NOT NULL,
                    seen_at timestamptz NOT NULL
                )
                """, logger: logger)
        }
    }

    /// Takes the lease when it has lapsed, renews it when this instance holds it, and reads it.
    ///
    /// Renewing a lease that has not lapsed keeps its fencing number; taking one (also this
    /// instance's own after it lapsed) raises it.
    public func takeOrRenew(ttl: Duration) async throws(SettingsStoreError) -> LeaseRow {
        let (identity, url, logger) = (identity, self.url, logger)
        let ttlMicroseconds = Self.microseconds(ttl)
        return try await bounded(\.lease) { session in try await session.autocommit { connection in
            let rows = try await connection.query("""
                WITH attempt AS (
                    INSERT INTO voxbridge_lease AS l (name, holder, holder_url, fencing, expires_at)
                    VALUES ('leader', \(identity), \(url), 1, clock_timestamp() + \(ttlMicroseconds) * interval '1 microsecond')
                    ON CONFLICT (name) DO UPDATE SET
                        holder = EXCLUDED.holder,
                        holder_url = EXCLUDED.holder_url,
                        fencing = CASE WHEN l.holder = EXCLUDED.holder AND l.expires_at > clock_timestamp()
                                       THEN l.fencing ELSE l.fencing + 1 END,
                        expires_at = EXCLUDED.expires_at
                    WHERE l.holder = EXCLUDED.holder OR l.expires_at <= clock_timestamp()
                    RETURNING holder, holder_url, fencing, expires_at
                )
                SELECT holder, holder_url, fencing,
                       (EXTRACT(EPOCH FROM (expires_at - clock_timestamp())) * 1000000)::bigint FROM attempt
                UNION ALL
                SELECT holder, holder_url, fencing,
                       (EXTRACT(EPOCH FROM (expires_at - clock_timestamp())) * 1000000)::bigint FROM voxbridge_lease
                WHERE name = 'leader' AND NOT EXISTS (SELECT 1 FROM attempt)
                """, logger: logger)
            for try await (holder, holderURL, fencing, remaining) in rows.decode((String, String, Int64, Int64).self) {
                return LeaseRow(holder: holder, holderURL: holderURL, fencing: fencing, remaining: .microseconds(remaining))
            }
            throw SettingsStoreError.unavailable(store: "PostgreSQL", reason: "the lease row was not read back")
        } }
    }

    /// Reads the lease without trying to take it (an instance that stepped down).
    public func read() async throws(SettingsStoreError) -> LeaseRow {
        let logger = logger
        return try await bounded(\.lease) { session in try await session.autocommit { connection in
            let rows = try await connection.query("""
                SELECT holder, holder_url, fencing,
                       (EXTRACT(EPOCH FROM (expires_at - clock_timestamp())) * 1000000)::bigint
                FROM voxbridge_lease WHERE name = 'leader'
                """, logger: logger)
            for try await (holder, holderURL, fencing, remaining) in rows.decode((String, String, Int64, Int64).self) {
                return LeaseRow(holder: holder, holderURL: holderURL, fencing: fencing, remaining: .microseconds(remaining))
            }
            throw SettingsStoreError.unavailable(store: "PostgreSQL", reason: "no lease row yet")
        } }
    }

    /// Ends this instance's term at once, so another instance takes over without waiting for
    /// it to lapse. Changes nothing when the lease has passed on meanwhile.
    public func release(fencing: Int64) async throws(SettingsStoreError) {
        let (identity, logger) = (identity, logger)
        try await bounded(\.lease) { session in try await session.autocommit { connection in
            _ = try await connection.query("""
                UPDATE voxbridge_lease SET expires_at = clock_timestamp()
                WHERE name = 'leader' AND holder = \(identity) AND fencing = \(fencing)
                """, logger: logger)
        } }
    }

    /// Writes this instance's membership row (with its role) and reads every member seen
    /// within `timeout`, this one included; forgets members gone for an hour.
    public func heartbeat(role: String, timeout: Duration) async throws(SettingsStoreError) -> [ClusterMember] {
        let (identity, url, logger) = (identity, self.url, logger)
        let timeoutMicroseconds = Self.microseconds(timeout)
        return try await bounded(\.members) { session in try await session.autocommit { connection in
            try await connection.query("""
                INSERT INTO voxbridge_members (id, url, role, seen_at) VALUES (\(identity), \(url), \(role), clock_timestamp())
                ON CONFLICT (id) DO UPDATE SET url = EXCLUDED.url, role = EXCLUDED.role, seen_at = EXCLUDED.seen_at
                """, logger: logger)
            try await connection.query(
                "DELETE FROM voxbridge_members WHERE seen_at < clock_timestamp() - interval '1 hour'", logger: logger)
            let rows = try await connection.query("""
                SELECT id, url, role, (EXTRACT(EPOCH FROM (clock_timestamp() - seen_at)) * 1000000)::bigint
                FROM voxbridge_members
                WHERE seen_at > clock_timestamp() - \(timeoutMicroseconds) * interval '1 microsecond'
                ORDER BY url, id
                """, logger: logger)
            var members: [ClusterMember] = []
            for try await (id, url, role, ago) in rows.decode((String, String, String, Int64).self) {
                members.append(ClusterMember(id: id, url: url, role: role, seenAgo: .microseconds(max(ago, 0))))
            }
            return members
        } }
    }

    /// Removes this instance's membership row (a graceful stop), so the others stop sending to it.
    public func leave() async throws(SettingsStoreError) {
        let (identity, logger) = (identity, logger)
        try await bounded(\.members) { session in try await session.autocommit { connection in
            _ = try await connection.query("DELETE FROM voxbridge_members WHERE id = \(identity)", logger: logger)
        } }
    }

    /// Closes the lease's connections.
    public func close() async {
        let (lease, members) = sessions.withLock { $0 }
        await lease.close()
        await members.close()
        await setupSession.close()
    }

    /// Runs `body` on the session at `which`, and gives up on it after ``limit`` without waiting
    /// for it to end: a round trip that outlives its own bounds (a connection the server never
    /// answers, a close that does not fail the query under way) must not stall the lease loop,
    /// which would then neither renew nor notice a new leader. The session it ran on is replaced
    /// by a fresh one (the abandoned one still holds its lock) and closed in the background.
    private func bounded<T: Sendable>(
        _ which: WritableKeyPath<(lease: PostgresSession, members: PostgresSession), PostgresSession>,
        _ body: @escaping @Sendable (PostgresSession) async throws -> T
    ) async throws(SettingsStoreError) -> T {
        let session = sessions.withLock { $0[keyPath: which] }
        let race = Race<T>()
        let outcome: Result<T, any Error>? = await withCheckedContinuation { continuation in
            race.start(continuation: continuation, limit: limit) {
                do { return .success(try await body(session)) } catch { return .failure(error) }
            }
        }
        guard let outcome else {
            let fresh = try? PostgresSession(url: storeURL, configuration: bounds, logger: logger)
            if let fresh {
                sessions.withLock { sessions in
                    if sessions[keyPath: which] === session { sessions[keyPath: which] = fresh }
                }
            }
            Task { await session.close() }
            throw .unavailable(store: storeURL.description, reason: "no answer within \(limit)")
        }
        switch outcome {
        case .success(let value): return value
        case .failure(let error as SettingsStoreError): throw error
        case .failure(let error): throw .unavailable(store: storeURL.description, reason: "\(error)")
        }
    }

    /// The advisory lock key of the cluster tables' creation ("VoxBridge lease", as a number).
    static let schemaLockKey: Int64 = 0x566F_7842_4C65_6173

    private static func microseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000_000 + attoseconds / 1_000_000_000_000
    }
}

/// The first of a piece of work and a deadline: resumes its continuation once, with the work's
/// result or `nil` when the deadline came first (the work then goes on, cancelled, unawaited).
private final class Race<T: Sendable>: Sendable {
    private let finished = Atomic<Bool>(false)
    private let timer = Mutex<Task<Void, Never>?>(nil)

    func start(
        continuation: CheckedContinuation<Result<T, any Error>?, Never>, limit: Duration,
        _ work: @escaping @Sendable () async -> Result<T, any Error>
    ) {
        let worker = Task {
            let result = await work()
            if self.claim() {
                self.timer.withLock { $0?.cancel() }
                continuation.resume(returning: result)
            }
        }
        let deadline = Task {
            try? await Task.sleep(for: limit)
            if !Task.isCancelled, self.claim() {
                worker.cancel()
                continuation.resume(returning: nil)
            }
        }
        timer.withLock { $0 = deadline }
        if finished.load(ordering: .acquiring) { deadline.cancel() }
    }

    private func claim() -> Bool {
        !finished.exchange(true, ordering: .acquiringAndReleasing)
    }
}
