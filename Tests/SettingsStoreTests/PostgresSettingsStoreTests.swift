import DispatchTestSupport
import Foundation
import Logging
import Synchronization
@testable import PostgresSettingsStore
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

@Suite("PostgresSession's bound does not wait for what it abandons")
struct PostgresSessionTimeoutTests {
    @Test("withTimeout throws at its bound while the work goes on ignoring cancellation, and closes the connection")
    func boundDoesNotWait() async throws {
        let closed = ClosedFlag()
        let start = ContinuousClock.now
        await #expect(throws: TimeoutReached.self) {
            try await PostgresSession.withTimeout(.milliseconds(100), onTimeout: { closed.value.store(true, ordering: .relaxed) }) {
                // Work that does not end when cancelled, as a query on a connection the server
                // never answers may not.
                await withCheckedContinuation { continuation in
                    DispatchQueue.global().asyncAfter(deadline: .now() + 4) { continuation.resume() }
                }
                return 1
            }
        }
        let elapsed = ContinuousClock.now - start
        // Well under the work's 4 s (what waiting for it took). `make test` runs this suite in its
        // serial phase: beside the parallel suites the timeout's task waited up to 2.9 s for a thread.
        #expect(elapsed < .milliseconds(1_500), "the bound of 100 ms waited \(elapsed)")
        let wasClosed = closed.value.load(ordering: .relaxed)
        #expect(wasClosed)
        // Work that ends in time gives its value and closes nothing.
        let value = try await PostgresSession.withTimeout(.seconds(1), onTimeout: { Issue.record("timed out") }) { 7 }
        #expect(value == 7)
    }

    @Test("a settings write on a black-holed connection fails within its bound, and the store works again once the link does",
          .enabled(if: PostgresTestServer.isConfigured, Comment(rawValue: PostgresTestServer.skipNote)))
    func writeOnStalledLink() async throws {
        let database = try await PostgresTestServer.makeDatabase()
        let port = try #require(URLComponents(string: database.url)?.port)
        let proxy = try StallingProxy(port: port)
        defer { proxy.stop() }
        let bound = Duration.milliseconds(500)
        let store = try await PostgresSettingsStore(
            url: PostgresStoreURL(proxy.url(for: database.url)),
            configuration: PostgresStoreConfiguration(connectTimeout: .seconds(1), statementTimeout: bound), logger: Logger(label: "test"))
        let list = try FleetList(validating: ["http://127.0.0.1:9001"])
        let first = try await store.replaceFleet(with: list, expectedVersion: nil, actor: .cli)

        proxy.stall()
        let start = ContinuousClock.now
        await #expect(throws: SettingsStoreError.self) {
            _ = try await store.replaceFleet(with: list, expectedVersion: first.version, actor: .cli)
        }
        let elapsed = ContinuousClock.now - start
        print("postgres-session: a write on a stalled link failed after \(elapsed) (bound \(bound))")
        #expect(elapsed < bound + .milliseconds(400), "the write outlived its bound of \(bound): \(elapsed)")

        proxy.resume()
        let again = try await store.replaceFleet(with: list, expectedVersion: nil, actor: .cli)
        #expect(again.version > first.version)
        await store.close()
        await database.drop()
    }
}

/// Whether a timeout's closing ran.
final class ClosedFlag: Sendable {
    let value = Atomic<Bool>(false)
}
