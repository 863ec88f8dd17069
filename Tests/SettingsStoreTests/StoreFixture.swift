import DispatchTestSupport
import Foundation
import Logging
import PostgresSettingsStore
import Testing
@testable import SettingsStore

/// One test's store location: a new SQLite file, or a new PostgreSQL database.
struct StoreFixture: Sendable {
    let kind: TestStoreKind
    let folder = TemporaryFolder()
    let database: PostgresTestDatabase?

    static let logger = Logger(label: "store-test", factory: { _ in SwiftLogNoOpLogHandler() })

    /// Runs `body` with a fresh location of `kind`, then drops the database.
    static func with<T>(_ kind: TestStoreKind, _ body: (StoreFixture) async throws -> T) async throws -> T {
        let fixture = StoreFixture(kind: kind, database: kind == .postgres ? try await PostgresTestServer.makeDatabase() : nil)
        do {
            let value = try await body(fixture)
            await fixture.database?.drop()
            return value
        } catch {
            await fixture.database?.drop()
            throw error
        }
    }

    /// Opens (creating the first time) the store; another call opens a second connection.
    func open() async throws(SettingsStoreError) -> any FleetSettingsStore {
        switch kind {
        case .sqlite:
            return try SQLiteSettingsStore(path: folder.file("settings.sqlite"))
        case .postgres:
            let url: PostgresStoreURL
            do { url = try PostgresStoreURL(database!.url) } catch { throw .cannotOpen(path: database!.url, reason: error.description) }
            return try await PostgresSettingsStore(url: url, logger: Self.logger)
        }
    }

    /// Runs raw SQL on the store's tables, as an operator's hand edit would.
    func execute(_ sql: String) async throws {
        switch kind {
        case .sqlite: try SQLiteConnection(path: folder.file("settings.sqlite"), create: false).execute(sql)
        case .postgres: try await database!.execute(sql)
        }
    }

    /// The settings table's name.
    var settingsTable: String { kind == .sqlite ? "settings" : "voxbridge_settings" }

    /// SQL that sets the schema version to `version`.
    func setSchemaVersion(_ version: Int) -> String {
        kind == .sqlite ? "PRAGMA user_version = \(version)" : "UPDATE voxbridge_schema SET version = \(version)"
    }
}
