import Foundation
import Logging
import PostgresNIO

/// The PostgreSQL server the tests use: `VOXBRIDGE_TEST_POSTGRES`, a URL such as
/// `postgres://voxbridge@127.0.0.1:PORT/postgres` of a user that may create databases.
/// `make test` starts a private server and sets it (scripts/with-postgres.sh); without it the
/// PostgreSQL cases are skipped.
public enum PostgresTestServer {
    /// The server's admin URL, when the environment names one.
    public static let adminURL: String? = ProcessInfo.processInfo.environment["VOXBRIDGE_TEST_POSTGRES"].flatMap { $0.isEmpty ? nil : $0 }

    /// Whether PostgreSQL-backed tests can run.
    public static var isConfigured: Bool { adminURL != nil }

    /// What a skipped test says.
    public static let skipNote =
        "needs PostgreSQL: run `make test`, or `scripts/with-postgres.sh swift test` (starts a private server and sets VOXBRIDGE_TEST_POSTGRES)"

    /// A new, empty database on the test server, so tests can run in parallel; dropped by
    /// ``PostgresTestDatabase/drop()``.
    public static func makeDatabase() async throws -> PostgresTestDatabase {
        guard let adminURL, let components = URLComponents(string: adminURL) else {
            throw PostgresTestError("VOXBRIDGE_TEST_POSTGRES is not set")
        }
        let name = "vbtest_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(20)
        try await execute(["CREATE DATABASE \(name)"], url: adminURL)
        var database = components
        database.path = "/\(name)"
        return PostgresTestDatabase(name: name, url: database.string!, adminURL: adminURL)
    }

    /// Runs `statements` (raw SQL, one at a time) on a connection to `url`.
    public static func execute(_ statements: [String], url: String) async throws {
        let connection = try await connect(url)
        do {
            for statement in statements {
                try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
            }
        } catch {
            try? await connection.close()
            throw PostgresTestError("\(statements): \(String(reflecting: error))")
        }
        try await connection.close()
    }

    /// Connects to `url` (user, host, port and database; no password or TLS).
    public static func connect(_ url: String) async throws -> PostgresConnection {
        guard let components = URLComponents(string: url), let user = components.user, let host = components.host else {
            throw PostgresTestError("not a postgres:// URL: \(url)")
        }
        let configuration = PostgresConnection.Configuration(
            host: host, port: components.port ?? 5432, username: user, password: components.password,
            database: String(components.path.dropFirst()), tls: .disable)
        return try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
    }

    static let logger = Logger(label: "postgres-test", factory: { _ in SwiftLogNoOpLogHandler() })
}

/// One test's database.
public struct PostgresTestDatabase: Sendable {
    /// The database's name.
    public let name: String
    /// Its URL, for `--store` and the store.
    public let url: String
    let adminURL: String

    /// Runs raw SQL statements in this database.
    public func execute(_ statements: String...) async throws {
        try await PostgresTestServer.execute(statements, url: url)
    }

    /// Drops the database (best effort: the test server is thrown away after the run anyway).
    public func drop() async {
        try? await PostgresTestServer.execute(["DROP DATABASE IF EXISTS \(name) WITH (FORCE)"], url: adminURL)
    }
}

/// A test setup failure.
public struct PostgresTestError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
