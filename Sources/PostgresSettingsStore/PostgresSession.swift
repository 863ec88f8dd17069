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
            return try await Self.withTimeout(configuration.statementTimeout, onTimeout: { Task { try? await current.close() } }) {
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

    /// Runs `body`; when it takes longer than `timeout`, throws ``TimeoutReached`` at once,
    /// without waiting for `body` to end, and runs `onTimeout` (which closes the connection, so
    /// what is under way on it fails). `body` is cancelled and left to end on its own: a query on
    /// a connection the server never answers may not end until the connection's close is
    /// noticed, and the caller's bound must not wait for that.
    static func withTimeout<T: Sendable>(
        _ timeout: Duration, onTimeout: @escaping @Sendable () -> Void, _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let race = FirstOutcome<T>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                race.start(continuation, timeout: timeout, onTimeout: onTimeout, body)
            }
        } onCancel: {
            race.finish(.failure(CancellationError()))
        }
    }
}

/// The first of a piece of work, a deadline and a cancellation: resumes its continuation once,
/// with the work's result, ``TimeoutReached`` or `CancellationError`, and cancels the others.
private final class FirstOutcome<T: Sendable>: Sendable {
    private struct State: Sendable {
        var continuation: CheckedContinuation<T, any Error>?
        var finished = false
        var tasks: [Task<Void, Never>] = []
    }

    private let state = Mutex(State())

    func start(
        _ continuation: CheckedContinuation<T, any Error>, timeout: Duration, onTimeout: @escaping @Sendable () -> Void,
        _ body: @escaping @Sendable () async throws -> T
    ) {
        let alreadyFinished = state.withLock { state in
            guard !state.finished else { return true }
            state.continuation = continuation
            return false
        }
        guard !alreadyFinished else {
            continuation.resume(throwing: CancellationError())
            return
        }
        let worker = Task {
            do {
                self.finish(.success(try await body()))
            } catch {
                self.finish(.failure(error))
            }
        }
        let deadline = Task {
            try? await Task.sleep(for: timeout)
            if !Task.isCancelled, self.finish(.failure(TimeoutReached(timeout: timeout))) { onTimeout() }
        }
        let cancelNow = state.withLock { state in
            state.tasks = [worker, deadline]
            return state.finished
        }
        if cancelNow {
            worker.cancel()
            deadline.cancel()
        }
    }

    /// Resumes with `outcome` unless something came first; whether it did.
    @discardableResult
    func finish(_ outcome: Result<T, any Error>) -> Bool {
        let taken: (CheckedContinuation<T, any Error>?, [Task<Void, Never>])? = state.withLock { state in
            guard !state.finished else { return nil }
            state.finished = true
            defer { state.continuation = nil }
            return (state.continuation, state.tasks)
        }
        guard let (continuation, tasks) = taken else { return false }
        tasks.forEach { $0.cancel() }
        continuation?.resume(with: outcome)
        return true
    }
}

/// A read or write that took longer than the statement timeout.
struct TimeoutReached: Error, CustomStringConvertible {
    var timeout: Duration
    var description: String { "no answer within \(timeout)" }
}
