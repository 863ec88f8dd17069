import DispatchTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import PostgresSettingsStore
import SettingsStore
import Testing
@testable import VoxBridgeDispatch

/// The application `serve` builds, on a new SQLite file in a temporary folder or a new
/// PostgreSQL database.
struct TestApplication {
    let folder = TemporaryFolder()
    let store: any FleetSettingsStore
    let configuration: DispatchConfiguration
    /// The PostgreSQL database, for a `.postgres` application.
    let database: PostgresTestDatabase?

    /// An application on a new SQLite file.
    init(adminToken: String? = nil, pickToken: String? = nil, configure: (inout DispatchConfiguration) -> Void = { _ in }) throws {
        var configuration = Self.configuration(adminToken: adminToken, pickToken: pickToken, configure: configure)
        configuration.settingsStore = .sqlite(path: folder.file("settings.sqlite"))
        self.configuration = configuration
        self.store = try SQLiteSettingsStore(path: folder.file("settings.sqlite"))
        self.database = nil
    }

    /// An application on a new store of `kind`.
    init(_ kind: TestStoreKind, adminToken: String? = nil, pickToken: String? = nil) async throws {
        var configuration = Self.configuration(adminToken: adminToken, pickToken: pickToken, configure: { _ in })
        switch kind {
        case .sqlite:
            configuration.settingsStore = .sqlite(path: folder.file("settings.sqlite"))
            self.store = try SQLiteSettingsStore(path: folder.file("settings.sqlite"))
            self.database = nil
        case .postgres:
            let database = try await PostgresTestServer.makeDatabase()
            let url = try PostgresStoreURL(database.url)
            configuration.settingsStore = .postgres(url)
            self.store = try await PostgresSettingsStore(url: url, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
            self.database = database
        }
        self.configuration = configuration
    }

    private static func configuration(
        adminToken: String?, pickToken: String?, configure: (inout DispatchConfiguration) -> Void
    ) -> DispatchConfiguration {
        var configuration = DispatchConfiguration()
        configuration.port = 0
        configuration.adminToken = adminToken
        configuration.pickToken = pickToken
        configure(&configuration)
        return configuration
    }

    /// The SQLite file, for `fleet --db`.
    var databasePath: String { folder.file("settings.sqlite") }

    /// Runs `body` against the application through Hummingbird's router test client, or over a
    /// real loopback socket with `.live`. Either way its prober probes real (fake) fleet servers.
    func test(_ setup: TestingSetup = .router, _ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let application = try await buildApplication(configuration: configuration, store: store, logger: logger)
        try await application.test(setup) { client in try await body(client) }
    }

    /// Replaces the fleet list, as the settings page would.
    func setFleet(_ urls: [String]) async throws {
        try await store.replaceFleet(with: FleetList(validating: urls), actor: .api)
    }

    /// Closes the store and drops the PostgreSQL database.
    func finish() async {
        await store.close()
        await database?.drop()
    }
}

/// The decoded JSON object of a response body; empty when it is not a JSON object.
func json(_ body: ByteBuffer) -> [String: Any] {
    json(Data(buffer: body))
}

/// The decoded JSON object of `data`; empty when it is not a JSON object.
func json(_ data: Data) -> [String: Any] {
    (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
}

extension HTTPFields {
    /// `Authorization: Bearer <token>`.
    static func bearer(_ token: String) -> HTTPFields { [.authorization: "Bearer \(token)"] }
}
