import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import SettingsStore
import Testing
@testable import VoxBridgeDispatch

/// A fresh folder per test, removed at the end.
final class TemporaryFolder: Sendable {
    let path: String

    init() {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("voxbridge-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { path + "/" + name }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// The application `serve` builds, on a new database in a temporary folder.
struct TestApplication {
    let folder = TemporaryFolder()
    let store: SettingsStore
    let configuration: DispatchConfiguration

    init(adminToken: String? = nil, pickToken: String? = nil, configure: (inout DispatchConfiguration) -> Void = { _ in }) throws {
        var configuration = DispatchConfiguration()
        configuration.port = 0
        configuration.databasePath = folder.file("settings.sqlite")
        configuration.adminToken = adminToken
        configuration.pickToken = pickToken
        configure(&configuration)
        self.configuration = configuration
        self.store = try SettingsStore(path: configuration.databasePath)
    }

    /// Runs `body` against the application through Hummingbird's router test client, or over a
    /// real loopback socket with `.live`. Either way its prober probes real (fake) fleet servers.
    func test(_ setup: TestingSetup = .router, _ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let application = try buildApplication(configuration: configuration, store: store, logger: logger)
        try await application.test(setup) { client in try await body(client) }
    }

    /// Replaces the fleet list, as the settings page would.
    func setFleet(_ urls: [String]) throws {
        try store.replaceFleet(with: FleetList(validating: urls), actor: .api)
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
