import Foundation
import Logging
import PostgresNIO
import SettingsStore

/// Reading and writing the fleet list's rows, inside a transaction the caller opened. The value is
/// stored as the same JSON text as in SQLite, so `store copy` moves it unchanged.
enum FleetRows {
    static let key = SQLiteSettingsStore.fleetKey

    /// The current setting; `lock` takes the row lock, so concurrent writers (any instance, any
    /// host) queue up and each sees the version the one before it wrote.
    static func current(_ connection: PostgresConnection, lock: Bool, logger: Logger) async throws -> FleetSetting {
        // Both rows in one statement, one snapshot: the list and the operators' states as they
        // were together (a listener never holds a list of one moment with states of another).
        let adminKey = FleetAdminStates.key
        let query: PostgresQuery = lock
            ? "SELECT key, value, version, updated_at FROM voxbridge_settings WHERE key IN (\(key), \(adminKey)) FOR UPDATE"
            : "SELECT key, value, version, updated_at FROM voxbridge_settings WHERE key IN (\(key), \(adminKey))"
        var list: (value: String, version: Int, updatedAt: String)?
        var admin = FleetAdminStates()
        for try await (rowKey, value, version, updatedAt) in try await connection.query(query, logger: logger).decode((String, String, Int, String).self) {
            if rowKey == key { list = (value, version, updatedAt) } else { admin = try FleetAdminStates.decode(value, version: version) }
        }
        guard let list else { throw SettingsStoreError.corrupt(reason: "the voxcore_fleet setting is missing") }
        return FleetSetting(list: try decodeList(list.value), version: list.version, updatedAt: list.updatedAt, admin: admin)
    }

    /// Stores the operators' states and one history row (`change`: the record set, or the
    /// servers a list write dropped), and notifies the listeners.
    static func storeAdmin(
        _ states: FleetAdminStates, change: String, actor: SettingsActor, _ connection: PostgresConnection, logger: Logger
    ) async throws {
        let (key, now) = (FleetAdminStates.key, timestampNow())
        try await putAdmin(states, updatedAt: now, connection, logger: logger)
        try await connection.query(
            "INSERT INTO voxbridge_settings_history (key, value, version, changed_at, actor) VALUES (\(key), \(change), \(states.version), \(now), \(actor.rawValue))",
            logger: logger)
        try await connection.query("SELECT pg_notify(\(PostgresSchema.channel), \("admin " + String(states.version)))", logger: logger)
    }

    /// Writes the states' row, inserting it the first time.
    static func putAdmin(_ states: FleetAdminStates, updatedAt: String, _ connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            """
            INSERT INTO voxbridge_settings (key, value, version, updated_at) VALUES (\(FleetAdminStates.key), \(states.encoded()), \(states.version), \(updatedAt))
            ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, version = EXCLUDED.version, updated_at = EXCLUDED.updated_at
            """,
            logger: logger)
    }

    /// The changes of the operators' states, newest first.
    static func adminHistory(limit: Int, _ connection: PostgresConnection, logger: Logger) async throws -> [FleetAdminHistoryEntry] {
        var entries: [FleetAdminHistoryEntry] = []
        let rows = try await connection.query(
            "SELECT value, version, actor FROM voxbridge_settings_history WHERE key = \(FleetAdminStates.key) ORDER BY version DESC LIMIT \(max(0, limit))",
            logger: logger)
        for try await (value, version, actorText) in rows.decode((String, Int, String).self) {
            guard let actor = SettingsActor(rawValue: actorText) else {
                throw SettingsStoreError.corrupt(reason: "unreadable \(FleetAdminStates.key) history row")
            }
            entries.append(try FleetAdminHistoryEntry.decode(value, version: version, actor: actor))
        }
        return entries
    }

    /// Writes `list` as the version after `current`, appends it to the history and notifies every
    /// listener, all in the caller's transaction: the notification is delivered at the commit,
    /// and only if it commits.
    static func store(
        _ list: FleetList, after current: FleetSetting, actor: SettingsActor, _ connection: PostgresConnection, logger: Logger
    ) async throws -> FleetSetting {
        let setting = FleetSetting(list: list, version: current.version + 1, updatedAt: timestampNow())
        let value = encodeList(list)
        try await connection.query(
            "UPDATE voxbridge_settings SET value = \(value), version = \(setting.version), updated_at = \(setting.updatedAt) WHERE key = \(key)",
            logger: logger)
        try await connection.query(
            "INSERT INTO voxbridge_settings_history (key, value, version, changed_at, actor) VALUES (\(key), \(value), \(setting.version), \(setting.updatedAt), \(actor.rawValue))",
            logger: logger)
        // A server that leaves the list takes its operator state with it.
        var stored = setting
        stored.admin = current.admin
        if let kept = current.admin.keeping(only: list) {
            let dropped = current.admin.records.keys.filter { kept.records[$0] == nil }
            try await storeAdmin(kept, change: FleetAdminStates.encodeDropped(dropped, at: setting.updatedAt), actor: actor, connection, logger: logger)
            stored.admin = kept
        }
        try await notify(version: setting.version, connection, logger: logger)
        return stored
    }

    /// `pg_notify` of the fleet channel with `version` as payload.
    static func notify(version: Int, _ connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("SELECT pg_notify(\(PostgresSchema.channel), \(String(version)))", logger: logger)
    }

    /// The history, newest first.
    static func history(limit: Int, _ connection: PostgresConnection, logger: Logger) async throws -> [SettingsHistoryEntry] {
        var entries: [SettingsHistoryEntry] = []
        let rows = try await connection.query(
            "SELECT key, value, version, changed_at, actor FROM voxbridge_settings_history WHERE key = \(key) ORDER BY version DESC LIMIT \(max(0, limit))",
            logger: logger)
        for try await (key, value, version, changedAt, actorText) in rows.decode((String, String, Int, String, String).self) {
            guard let actor = SettingsActor(rawValue: actorText) else {
                throw SettingsStoreError.corrupt(reason: "unreadable history row")
            }
            entries.append(SettingsHistoryEntry(key: key, urls: try decodeList(value).urls, version: version, changedAt: changedAt, actor: actor))
        }
        return entries
    }

    static func encodeList(_ list: FleetList) -> String {
        encodeURLs(list.urls)
    }

    static func encodeURLs(_ urls: [String]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        // Encoding an array of strings cannot fail.
        let data = (try? encoder.encode(urls)) ?? Data("[]".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    static func decodeList(_ text: String) throws(SettingsStoreError) -> FleetList {
        guard let urls = try? JSONDecoder().decode([String].self, from: Data(text.utf8)),
            let list = try? FleetList(validating: urls)
        else { throw .corrupt(reason: "the stored voxcore_fleet value is not a valid fleet list") }
        return list
    }

    static func timestampNow() -> String {
        Date.now.formatted(.iso8601)
    }
}
