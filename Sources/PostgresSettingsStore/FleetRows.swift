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
        let query: PostgresQuery = lock
            ? "SELECT value, version, updated_at FROM voxbridge_settings WHERE key = \(key) FOR UPDATE"
            : "SELECT value, version, updated_at FROM voxbridge_settings WHERE key = \(key)"
        for try await (value, version, updatedAt) in try await connection.query(query, logger: logger).decode((String, Int, String).self) {
            return FleetSetting(list: try decodeList(value), version: version, updatedAt: updatedAt)
        }
        throw SettingsStoreError.corrupt(reason: "the voxcore_fleet setting is missing")
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
        try await notify(version: setting.version, connection, logger: logger)
        return setting
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
