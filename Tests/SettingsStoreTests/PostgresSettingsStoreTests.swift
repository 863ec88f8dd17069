import DispatchTestSupport
import Foundation
import Logging
import PostgresSettingsStore
import Testing
@testable import SettingsStore

@Suite("PostgresSettingsStore: URL, schema and reachability")
struct PostgresSettingsStoreTests {
    @Test("store URLs: parsed, password from the URL or PGPASSWORD, never shown")
    func urls() throws {
        let url = try PostgresStoreURL("postgres://dispatch:s3cret@db.example.com:6432/voxbridge?sslmode=verify-full")
        #expect(url.user == "dispatch")
        #expect(url.password == "s3cret")
        #expect(url.host == "db.example.com")
        #expect(url.port == 6432)
        #expect(url.database == "voxbridge")
        #expect(url.tls == .verifyFull)
        #expect(url.description == "postgres://dispatch@db.example.com:6432/voxbridge?sslmode=verify-full")
        #expect(!url.description.contains("s3cret"))

        let fromEnvironment = try PostgresStoreURL("postgresql://dispatch@127.0.0.1/voxbridge", environment: ["PGPASSWORD": "pw"])
        #expect(fromEnvironment.password == "pw")
        #expect(fromEnvironment.port == 5432)
        #expect(fromEnvironment.tls == .disable)
        #expect(try PostgresStoreURL("postgres://u:inurl@h/d", environment: ["PGPASSWORD": "pw"]).password == "inurl")
        #expect(try PostgresStoreURL("postgres://u@h/d?sslmode=require").tls == .require)
    }

    @Test("bad store URLs are refused with one line that never repeats the password")
    func badURLs() {
        let bad = [
            "", "voxbridge.sqlite", "mysql://u@h/d", "postgres://h/d", "postgres://u@/d", "postgres://u@h", "postgres://u@h/",
            "postgres://u@h/d?sslmode=prefer", "postgres://u@h/d?sslrootcert=x", "postgres://u@h:0/d", "postgres://u@h/a/b",
            "postgres://u:secretpw@h/d?sslmode=bogus", "postgres://u@h/d#x",
        ]
        for text in bad {
            #expect {
                try PostgresStoreURL(text)
            } throws: { error in
                let line = (error as? PostgresStoreURLError)?.description ?? ""
                return !line.isEmpty && !line.contains("\n") && !line.contains("secretpw")
            }
        }
    }

    @Test("a server that cannot be reached is `unavailable`, in one line")
    func unreachable() async throws {
        let port = try LoopbackSocket.freePort()
        let url = try PostgresStoreURL("postgres://voxbridge:pw@127.0.0.1:\(port)/voxbridge")
        await #expect {
            try await PostgresSettingsStore(url: url, logger: Logger(label: "test"))
        } throws: { error in
            guard let error = error as? SettingsStoreError, case .unavailable(let store, _) = error else { return false }
            return store == "postgres://voxbridge@127.0.0.1:\(port)/voxbridge" && !error.description.contains("pw")
                && !error.description.contains("\n")
        }
    }

    @Test("instances starting at once migrate once", .enabled(if: PostgresTestServer.isConfigured, Comment(rawValue: PostgresTestServer.skipNote)))
    func concurrentMigration() async throws {
        try await StoreFixture.with(.postgres) { fixture in
            let stores = try await withThrowingTaskGroup(of: (any FleetSettingsStore).self) { group in
                for _ in 0..<6 { group.addTask { try await fixture.open() } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(stores.count == 6)
            for store in stores {
                #expect(try await store.fleet().version == 0)
                await store.close()
            }
            let reopened = try await fixture.open()
            #expect(try await reopened.history().isEmpty)
            await reopened.close()
        }
    }

    @Test("a database that does not exist cannot be opened", .enabled(if: PostgresTestServer.isConfigured, Comment(rawValue: PostgresTestServer.skipNote)))
    func missingDatabase() async throws {
        var components = URLComponents(string: PostgresTestServer.adminURL!)!
        components.path = "/vb_does_not_exist"
        let url = try PostgresStoreURL(components.string!)
        await #expect {
            try await PostgresSettingsStore(url: url, logger: Logger(label: "test"))
        } throws: { error in
            guard let error = error as? SettingsStoreError, case .cannotOpen = error else { return false }
            return true
        }
    }
}
