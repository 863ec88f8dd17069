import Logging
import PostgresNIO
import SettingsStore
import Synchronization

/// One connection to PostgreSQL, opened when first needed and again after it was lost, used by
/// one transaction (or one autocommitted run of statements) at a time.
///
/// A failure that is not the caller's own ``SettingsStoreError`` (a lost connection, a timeout)
/// drops the connection, so the next call starts on a fresh one; the server rolls back whatever
/// the lost connection had not committed. Public for the cluster's lease, which keeps a session
/// of its own so that its renewals never queue behind a settings write.
public final class PostgresSession: Sendable {
    private let url: PostgresStoreURL
    private let connectionConfiguration: PostgresConnection.Configuration
    private let configuration: PostgresStoreConfiguration
    private let logger: Logger
    private let lock = AsyncSerialLock()
    private let connection = Mutex<PostgresConnection?>(nil)
    private let connectionCount = Atomic<Int>(0)

    /// A session that connects to `url` when first used; `configuration.statementTimeout`
    /// bounds every call.
    public convenience init(url: PostgresStoreURL, configuration: PostgresStoreConfiguration, logger: Logger) throws(PostgresStoreURLError) {
        self.init(url: url, connectionConfiguration: try url.connectionConfiguration(connectTimeout: configuration.connectTimeout),
                  configuration: configuration, logger: logger)
    }

    init(url: PostgresStoreURL, connectionConfiguration: PostgresConnection.Configuration,
         configuration: PostgresStoreConfiguration, logger: Logger) {
        self.url = url
        self.connectionConfiguration = connectionConfiguration
        self.configuration = configuration
        self.logger = logger
    }

    /// Opens a new connection (for the listener, which keeps its own).
    func connect() async throws(SettingsStoreError) -> PostgresConnection {
        let id = connectionCount.add(1, ordering: .relaxed).newValue
        do {
            return try await PostgresConnection.connect(configuration: connectionConfiguration, id: id, logger: logger)
        } catch {
            throw .postgres(error, store: url.description)
        }
    }

    /// Runs `body` on the session's connection inside `BEGIN` … `COMMIT`, bounded by the
    /// statement timeout. Throws ``SettingsStoreError`` only.
    public func transaction<T: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws(SettingsStoreError) -> T {
        try await run(inTransaction: true, body)
    }

    /// Runs `body` on the session's connection, each statement committed on its own, bounded by
    /// the statement timeout. Throws ``SettingsStoreError`` only.
    public func autocommit<T: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws(SettingsStoreError) -> T {
        try await run(inTransaction: false, body)
    }

    private func run<T: Sendable>(
        inTransaction: Bool, _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws(SettingsStoreError) -> T {
        await lock.lock()
        defer { lock.unlock() }
        let current: PostgresConnection
        if let open = connection.withLock({ $0 }), !open.isClosed {
            current = open
        } else {
            current = try await connect()
            connection.withLock { $0 = current }
        }
        let logger = logger
        do {
            return try await Self.withTimeout(configuration.statementTimeout, closing: current) {
                guard inTransaction else { return try await body(current) }
                try await current.query("BEGIN", logger: logger)
                do {
                    let value = try await body(current)
                    try await current.query("COMMIT", logger: logger)
                    return value
                } catch {
                    if !(error is SettingsStoreError) { throw error }
                    try await current.query("ROLLBACK", logger: logger)
                    throw error
                }
            }
        } catch let error as SettingsStoreError {
            if case .unavailable = error { drop(current) }
            throw error
        } catch {
            let mapped = SettingsStoreError.postgres(error, store: url.description)
            drop(current)
            throw mapped
        }
    }

    /// Closes the connection; the session is not used afterwards.
    public func close() async {
        let open = connection.withLock { connection in
            defer { connection = nil }
            return connection
        }
        try? await open?.close()
    }

    /// A store released without ``close()`` still closes its connection; the callback keeps the
    /// connection alive until its channel is closed.
    deinit {
        if let open = connection.withLock({ $0 }) {
            open.close().whenComplete { _ in _ = open }
        }
    }

    private func drop(_ lost: PostgresConnection) {
        connection.withLock { if $0 === lost { $0 = nil } }
        // The callback keeps the connection alive until its channel is closed.
        lost.close().whenComplete { _ in _ = lost }
    }

    /// Runs `body`; when it takes longer than `timeout`, closes `connection` (which fails what is
    /// under way on it) and throws ``SettingsStoreError/unavailable(store:reason:)``.
    static func withTimeout<T: Sendable>(
        _ timeout: Duration, closing connection: PostgresConnection, _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else {
                Task { try? await connection.close() }
                throw TimeoutReached(timeout: timeout)
            }
            return value
        }
    }
}

/// A read or write that took longer than the statement timeout.
struct TimeoutReached: Error, CustomStringConvertible {
    var timeout: Duration
    var description: String { "no answer within \(timeout)" }
}
