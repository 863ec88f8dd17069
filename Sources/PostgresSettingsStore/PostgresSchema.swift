import Logging
import PostgresNIO
import SettingsStore

/// The tables of the PostgreSQL store, created and migrated by the program.
///
/// `voxbridge_schema` holds the schema version. Migration runs in one transaction that first takes
/// a transaction-scoped advisory lock, so instances starting at once migrate one after another and
/// the later ones find the work done. A version newer than this build is refused before anything
/// is written.
enum PostgresSchema {
    /// The schema this build writes and reads.
    static let version = 1
    /// The advisory lock key of the migration ("VoxBridge fleet", as a number).
    static let migrationLockKey: Int64 = 0x566F_7842_466C_7431
    /// The channel every accepted write notifies, with the new version as payload.
    static let channel = "voxbridge_fleet"

    /// Brings the schema up to date; called inside a transaction.
    static func migrate(_ connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("SELECT pg_advisory_xact_lock(\(migrationLockKey))", logger: logger)
        try await connection.query(
            "CREATE TABLE IF NOT EXISTS voxbridge_schema (singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton), version integer NOT NULL)",
            logger: logger)
        var found = 0
        for try await version in try await connection.query("SELECT version FROM voxbridge_schema", logger: logger).decode(Int.self) {
            found = version
        }
        guard found <= version else {
            throw SettingsStoreError.schemaTooNew(found: found, supported: version)
        }
        if found < 1 {
            try await connection.query("""
                CREATE TABLE voxbridge_settings (
                    key text PRIMARY KEY,
                    value text NOT NULL,
                    version bigint NOT NULL,
                    updated_at text NOT NULL
                )
                """, logger: logger)
            try await connection.query("""
                CREATE TABLE voxbridge_settings_history (
                    id bigserial PRIMARY KEY,
                    key text NOT NULL,
                    value text NOT NULL,
                    version bigint NOT NULL,
                    changed_at text NOT NULL,
                    actor text NOT NULL CHECK (actor IN ('api', 'cli')),
                    UNIQUE (key, version)
                )
                """, logger: logger)
            let key = SQLiteSettingsStore.fleetKey
            let now = FleetRows.timestampNow()
            try await connection.query(
                "INSERT INTO voxbridge_settings (key, value, version, updated_at) VALUES (\(key), '[]', 0, \(now))", logger: logger)
            try await connection.query("INSERT INTO voxbridge_schema (version) VALUES (1)", logger: logger)
        }
    }
}
