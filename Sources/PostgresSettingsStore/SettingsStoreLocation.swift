import Logging
import SettingsStore

/// Which settings store a command uses: the SQLite file `--db` (the default) or the PostgreSQL
/// database `--store`. Only this type knows the difference; everything else sees a
/// ``FleetSettingsStore``.
public enum SettingsStoreLocation: Sendable, Equatable {
    /// An SQLite file.
    case sqlite(path: String)
    /// A PostgreSQL database, checked and with its password resolved.
    case postgres(PostgresStoreURL)

    /// The location from `--db` and `--store` (each read from its `VOXBRIDGE_` variable when not
    /// given). The command line wins over the environment; `--db` and `--store` both on the
    /// command line, or both in the environment, is an error.
    public static func resolve(
        db: String?, store: String?, environment: [String: String], defaultPath: String
    ) throws(SettingsStoreLocationError) -> SettingsStoreLocation {
        if db != nil, store != nil {
            throw SettingsStoreLocationError("--db and --store name two settings stores; give one (--db for SQLite, --store for PostgreSQL)")
        }
        if let store { return try postgres(store, source: "--store", environment: environment) }
        if let db { return .sqlite(path: db) }
        func variable(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        let (environmentDB, environmentStore) = (variable("VOXBRIDGE_DB"), variable("VOXBRIDGE_STORE"))
        if environmentDB != nil, environmentStore != nil {
            throw SettingsStoreLocationError("VOXBRIDGE_DB and VOXBRIDGE_STORE name two settings stores; set one")
        }
        if let environmentStore { return try postgres(environmentStore, source: "VOXBRIDGE_STORE", environment: environment) }
        return .sqlite(path: environmentDB ?? defaultPath)
    }

    private static func postgres(_ text: String, source: String, environment: [String: String]) throws(SettingsStoreLocationError) -> Self {
        do {
            return .postgres(try PostgresStoreURL(text, environment: environment))
        } catch {
            throw SettingsStoreLocationError("\(source): \(error.description)")
        }
    }

    /// Opens the store (for PostgreSQL: connects and migrates).
    public func open(logger: Logger) async throws(SettingsStoreError) -> any FleetSettingsStore {
        switch self {
        case .sqlite(let path): try SQLiteSettingsStore(path: path)
        case .postgres(let url): try await PostgresSettingsStore(url: url, logger: logger)
        }
    }

    /// The store for messages: the path, or the URL without its password.
    public var description: String {
        switch self {
        case .sqlite(let path): path
        case .postgres(let url): url.description
        }
    }
}

/// Why `--db` and `--store` name no usable store: one line for the command line.
public struct SettingsStoreLocationError: Error, Sendable, CustomStringConvertible {
    /// The line.
    public var description: String

    init(_ description: String) {
        self.description = description
    }
}
