import Logging
import PostgresNIO
import SettingsStore

/// The fleet list in PostgreSQL: one list, one version counter and one history shared by every
/// dispatcher and every `fleet` command that names the same database.
///
/// It behaves exactly like ``SQLiteSettingsStore`` (same validation, versions, `If-Match`, history
/// and errors). Each write is one transaction that locks the setting's row, checks `If-Match`,
/// updates the row, appends to the history and calls `pg_notify`, so every listening instance
/// hears of the commit at once (``PostgresFleetListener``). While the server cannot be reached,
/// every call throws ``SettingsStoreError/unavailable(store:reason:)`` and changes nothing.
public final class PostgresSettingsStore: FleetSettingsStore {
    /// The URL without its password.
    public var location: String { url.description }

    private let url: PostgresStoreURL
    private let configuration: PostgresStoreConfiguration
    private let session: PostgresSession
    private let logger: Logger

    /// Connects to `url`, creates or migrates the schema and checks the stored list.
    /// - Throws: ``SettingsStoreError``: `unavailable` when the server cannot be reached,
    ///   `cannotOpen` for a refused login or a missing database, `schemaTooNew`, `corrupt`.
    public init(
        url: PostgresStoreURL, configuration: PostgresStoreConfiguration = .init(), logger: Logger
    ) async throws(SettingsStoreError) {
        let connectionConfiguration: PostgresConnection.Configuration
        do {
            connectionConfiguration = try url.connectionConfiguration(connectTimeout: configuration.connectTimeout)
        } catch {
            throw .cannotOpen(path: url.description, reason: error.description)
        }
        self.url = url
        self.configuration = configuration
        self.logger = logger
        self.session = PostgresSession(
            url: url, connectionConfiguration: connectionConfiguration, configuration: configuration, logger: logger)
        do {
            try await session.transaction { connection in
                try await PostgresSchema.migrate(connection, logger: logger)
            }
            // Validate what is stored now, so a hand-edited value is reported at start, not at a pick.
            _ = try await fleet()
        } catch {
            await session.close()
            throw error
        }
    }

    // MARK: - FleetSettingsStore

    /// The current fleet list with its version and time.
    public func fleet() async throws(SettingsStoreError) -> FleetSetting {
        let logger = logger
        return try await session.transaction { connection in
            try await FleetRows.current(connection, lock: false, logger: logger)
        }
    }

    /// The accepted writes of the fleet list, newest first.
    public func history(limit: Int) async throws(SettingsStoreError) -> [SettingsHistoryEntry] {
        let logger = logger
        return try await session.transaction { connection in
            try await FleetRows.history(limit: limit, connection, logger: logger)
        }
    }

    /// Replaces the fleet list, raising the version by one (an identical list too).
    public func replaceFleet(
        with list: FleetList, expectedVersion: Int?, actor: SettingsActor
    ) async throws(SettingsStoreError) -> FleetSetting {
        let logger = logger
        return try await session.transaction { connection in
            let current = try await FleetRows.current(connection, lock: true, logger: logger)
            if let expectedVersion, expectedVersion != current.version {
                throw SettingsStoreError.versionConflict(expected: expectedVersion, current: current.version)
            }
            return try await FleetRows.store(list, after: current, actor: actor, connection, logger: logger)
        }
    }

    /// Appends `entry` to the fleet list unless it is already listed (then nothing changes).
    public func addFleetEntry(_ entry: FleetEntry, actor: SettingsActor) async throws(SettingsStoreError) -> FleetAddResult {
        let logger = logger
        return try await session.transaction { connection in
            let current = try await FleetRows.current(connection, lock: true, logger: logger)
            switch current.addition(of: entry) {
            case .unchanged(let result): return result
            case .store(let list): return .added(try await FleetRows.store(list, after: current, actor: actor, connection, logger: logger))
            }
        }
    }

    /// Removes `entry` from the fleet list. Returns `nil`, changing nothing, when it is not listed.
    public func removeFleetEntry(_ entry: FleetEntry, actor: SettingsActor) async throws(SettingsStoreError) -> FleetSetting? {
        let logger = logger
        return try await session.transaction { connection in
            let current = try await FleetRows.current(connection, lock: true, logger: logger)
            guard let list = current.list.removing(entry) else { return nil }
            return try await FleetRows.store(list, after: current, actor: actor, connection, logger: logger)
        }
    }

    /// The operators' states of the listed servers, with their own version.
    public func adminStates() async throws(SettingsStoreError) -> FleetAdminStates {
        try await fleet().admin
    }

    /// Sets one listed server's operator state (``FleetSettingsStore/setAdminState(_:actor:)``),
    /// under the list row's lock, so it cannot race a list write that drops the server.
    public func setAdminState(_ change: FleetAdminChange, actor: SettingsActor) async throws(SettingsStoreError) -> FleetAdminRecord {
        let logger = logger
        return try await session.transaction { connection in
            let current = try await FleetRows.current(connection, lock: true, logger: logger)
            guard current.list.urls.contains(change.url) else { throw SettingsStoreError.notListed(url: change.url) }
            let (states, record) = current.admin.applying(change, at: FleetRows.timestampNow())
            try await FleetRows.storeAdmin(states, change: FleetAdminStates.encodeChange(record), actor: actor, connection, logger: logger)
            return record
        }
    }

    /// The changes of the operators' states, newest first.
    public func adminHistory(limit: Int) async throws(SettingsStoreError) -> [FleetAdminHistoryEntry] {
        let logger = logger
        return try await session.transaction { connection in
            try await FleetRows.adminHistory(limit: limit, connection, logger: logger)
        }
    }

    /// Records an ingress sync's view (``FleetSettingsStore/recordIngressView(_:)``); no
    /// notification: the list did not change.
    public func recordIngressView(_ view: IngressView) async throws(SettingsStoreError) {
        let logger = logger
        try await session.autocommit { connection in
            try await connection.query(
                """
                INSERT INTO voxbridge_settings (key, value, version, updated_at) VALUES (\(view.key), \(view.encoded()), 1, \(view.updatedAt))
                ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, version = voxbridge_settings.version + 1, updated_at = EXCLUDED.updated_at
                """,
                logger: logger)
        }
    }

    /// The views every ingress sync recorded, by ingress name.
    public func ingressViews() async throws(SettingsStoreError) -> [IngressView] {
        let logger = logger
        return try await session.autocommit { connection in
            let pattern = IngressView.keyPrefix.replacingOccurrences(of: "_", with: "\\_") + "%"
            var views: [IngressView] = []
            let rows = try await connection.query(
                "SELECT value FROM voxbridge_settings WHERE key LIKE \(pattern) ORDER BY key", logger: logger)
            for try await value in rows.decode(String.self) {
                if let view = IngressView.decode(value) { views.append(view) }
            }
            return views
        }
    }

    /// A listener on its own connection, starting from the list stored now.
    public func makeChangeFeed() async throws(SettingsStoreError) -> any FleetChangeFeed {
        PostgresFleetListener(
            initial: try await fleet(), session: session, configuration: configuration, location: location, logger: logger)
    }

    /// Closes the store's connection.
    public func close() async {
        await session.close()
    }

    // MARK: - Moving an install

    /// Whether the store holds nothing yet: version 0 and no history (a new database).
    public func isEmpty() async throws(SettingsStoreError) -> Bool {
        let logger = logger
        return try await session.transaction { connection in
            let current = try await FleetRows.current(connection, lock: false, logger: logger)
            let history = try await FleetRows.history(limit: 1, connection, logger: logger)
            return current.version == 0 && history.isEmpty
        }
    }

    /// Replaces everything stored with `current` and its `history` (a copy from another store),
    /// in one transaction, and notifies the listeners.
    /// - Parameter replacingExisting: without it, a store that is not empty (``isEmpty()``) is left
    ///   as it was and ``SettingsStoreError/notEmpty(store:version:)`` is thrown.
    public func importFleet(
        current: FleetSetting, history: [SettingsHistoryEntry], replacingExisting: Bool
    ) async throws(SettingsStoreError) {
        let (logger, location) = (logger, location)
        try await session.transaction { connection in
            let existing = try await FleetRows.current(connection, lock: true, logger: logger)
            if !replacingExisting {
                let hasHistory = !(try await FleetRows.history(limit: 1, connection, logger: logger)).isEmpty
                if existing.version != 0 || hasHistory {
                    throw SettingsStoreError.notEmpty(store: location, version: existing.version)
                }
            }
            let key = FleetRows.key
            try await connection.query("DELETE FROM voxbridge_settings_history WHERE key = \(key)", logger: logger)
            // The states' history goes too: the copied states start their own version anew.
            try await connection.query("DELETE FROM voxbridge_settings_history WHERE key = \(FleetAdminStates.key)", logger: logger)
            for entry in history.sorted(by: { $0.version < $1.version }) {
                let value = FleetRows.encodeURLs(entry.urls)
                try await connection.query(
                    "INSERT INTO voxbridge_settings_history (key, value, version, changed_at, actor) VALUES (\(key), \(value), \(entry.version), \(entry.changedAt), \(entry.actor.rawValue))",
                    logger: logger)
            }
            let value = FleetRows.encodeList(current.list)
            try await connection.query(
                "UPDATE voxbridge_settings SET value = \(value), version = \(current.version), updated_at = \(current.updatedAt) WHERE key = \(key)",
                logger: logger)
            // The operators' states come along (their history is not copied; the target's went above).
            if current.admin.version > 0 {
                try await FleetRows.putAdmin(current.admin, updatedAt: current.updatedAt, connection, logger: logger)
            } else {
                try await connection.query("DELETE FROM voxbridge_settings WHERE key = \(FleetAdminStates.key)", logger: logger)
            }
            try await FleetRows.notify(version: current.version, connection, logger: logger)
        }
    }
}
