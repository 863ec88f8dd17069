import Logging
import PostgresNIO
import SettingsStore
import Synchronization

/// The PostgreSQL store's change feed: a connection of its own that `LISTEN`s on the fleet
/// channel and keeps the newest list in memory, where ``poll(_:)`` (before every pick) finds it
/// without any I/O.
///
/// A write notifies in its own transaction, so the listener reads the new list within a round
/// trip of the commit. After a reconnect it reads the list once (a notification sent while it was
/// away is lost, but the version tells), and every ``PostgresStoreConfiguration/periodicCheckInterval``
/// it reads it again in any case. While the server cannot be reached it retries with a growing
/// delay (``PostgresStoreConfiguration/reconnectDelay(attempt:)``), and reports only the
/// transitions between reachable and unreachable.
final class PostgresFleetListener: FleetChangeFeed {
    private struct State {
        /// The newest setting read.
        var setting: FleetSetting
        /// The version last handed to a poll; `nil` before the first poll.
        var delivered: (list: Int, admin: Int)?
        var availability: StoreAvailability = .available
    }

    private let state: Mutex<State>
    private let session: PostgresSession
    private let configuration: PostgresStoreConfiguration
    private let location: String
    private let logger: Logger

    init(initial: FleetSetting, session: PostgresSession, configuration: PostgresStoreConfiguration, location: String, logger: Logger) {
        self.state = Mutex(State(setting: initial))
        self.session = session
        self.configuration = configuration
        self.location = location
        self.logger = logger
    }

    func poll(_ apply: (FleetSetting) -> Void) throws(SettingsStoreError) {
        // Applied under the lock: a poll that finds the version delivered must find it applied.
        state.withLock { state in
            let current = (list: state.setting.version, admin: state.setting.admin.version)
            guard state.delivered.map({ $0 != current }) ?? true else { return }
            apply(state.setting)
            state.delivered = current
        }
    }

    var availability: StoreAvailability {
        state.withLock { $0.availability }
    }

    func run(onAvailabilityChange: @escaping @Sendable (StoreAvailability) -> Void) async {
        var attempt = 0
        while !Task.isCancelled {
            do {
                let connection = try await session.connect()
                do {
                    try await listen(on: connection) {
                        attempt = 0
                        self.setAvailability(.available, onAvailabilityChange)
                    }
                } catch {
                    try? await connection.close()
                    throw error
                }
                try? await connection.close()
            } catch {
                if Task.isCancelled { return }
                let reason = SettingsStoreError.postgres(error, store: location)
                let text: String = if case .unavailable(_, let why) = reason { why } else { reason.description }
                setAvailability(.unavailable(reason: text), onAvailabilityChange)
            }
            attempt += 1
            try? await Task.sleep(for: configuration.reconnectDelay(attempt: attempt))
        }
    }

    /// Listens on `connection` until it fails or the task is cancelled. `connected` runs once the
    /// channel is listened to and the list read, so nothing committed before it is missed.
    private func listen(on connection: PostgresConnection, connected: () -> Void) async throws {
        try await connection.listen(on: PostgresSchema.channel) { notifications in
            try await read(connection)
            connected()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for try await _ in notifications {
                        try await self.read(connection)
                    }
                    throw ListenerEnded()
                }
                group.addTask {
                    while true {
                        try await Task.sleep(for: self.configuration.periodicCheckInterval)
                        try await self.read(connection)
                    }
                }
                defer { group.cancelAll() }
                try await group.next()
            }
        }
    }

    /// Reads the stored list on the listener's connection and keeps it when it is newer.
    private func read(_ connection: PostgresConnection) async throws {
        let logger = logger
        let setting = try await PostgresSession.withTimeout(configuration.statementTimeout, onTimeout: { Task { try? await connection.close() } }) {
            try await FleetRows.current(connection, lock: false, logger: logger)
        }
        state.withLock { state in
            // Reads may finish out of order; versions only grow, so the highest is the newest.
            if setting.isNewer(than: state.setting) { state.setting = setting }
        }
    }

    private func setAvailability(_ availability: StoreAvailability, _ report: @Sendable (StoreAvailability) -> Void) {
        let changed = state.withLock { state in
            let changed = (state.availability == .available) != (availability == .available)
            state.availability = availability
            return changed
        }
        if changed { report(availability) }
    }
}

/// The notification stream ended: the connection is gone.
struct ListenerEnded: Error, CustomStringConvertible {
    var description: String { "the listening connection was closed" }
}
