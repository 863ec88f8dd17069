import DispatchCluster
import DispatchTestSupport
import Logging
import PostgresSettingsStore
import Testing

/// The lease's statements on a real PostgreSQL server: who gets the row, when the fencing
/// number rises, and the membership rows.
@Suite("The lease in PostgreSQL", .enabled(if: PostgresTestServer.isConfigured, Comment(rawValue: PostgresTestServer.skipNote)))
struct PostgresLeaseTests {
    /// A lease named `name`, its round trips bounded by 2 s: these tests check the statements,
    /// not the timing, and run beside the other suites on a busy machine.
    static func lease(_ database: PostgresTestDatabase, _ name: String) throws -> PostgresLease {
        var configuration = LeaseConfiguration()
        configuration.attemptTimeout = .seconds(2)
        return try PostgresLease(url: PostgresStoreURL(database.url), identity: name, advertiseURL: "http://\(name)",
                                 configuration: configuration, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
    }

    @Test("the first taker holds it; another reads the holder; renewal keeps the number; a lapsed lease goes to the next taker with a higher one")
    func takeRenewTakeover() async throws {
        let database = try await PostgresTestServer.makeDatabase()
        let a = try Self.lease(database, "a")
        let b = try Self.lease(database, "b")
        do {
            try await a.prepare()
            try await b.prepare()
            // Long terms where nothing must lapse (the machine may be busy), one short one to lapse.
            let long = Duration.seconds(5)
            let first = try await a.takeOrRenew(ttl: long)
            #expect(first.holder == "a" && first.holderURL == "http://a" && first.fencing == 1)
            #expect(first.remaining > .seconds(4) && first.remaining <= long)
            let seen = try await b.takeOrRenew(ttl: long)
            #expect(seen.holder == "a" && seen.fencing == 1, "a lease that has not lapsed stays with its holder")
            let renewed = try await a.takeOrRenew(ttl: .milliseconds(100))
            #expect(renewed.holder == "a" && renewed.fencing == 1, "renewing keeps the number")
            try await Task.sleep(for: .milliseconds(300))
            let taken = try await b.takeOrRenew(ttl: long)
            #expect(taken.holder == "b" && taken.fencing == 2)
            let refused = try await a.takeOrRenew(ttl: long)
            #expect(refused.holder == "b" && refused.fencing == 2, "the old holder reads the new one")
            // Step-down: the lease ends at once, and the next taker needs no wait.
            try await b.release(fencing: 2)
            let after = try await a.takeOrRenew(ttl: long)
            #expect(after.holder == "a" && after.fencing == 3)
            // A release naming an old term changes nothing.
            try await b.release(fencing: 2)
            #expect(try await a.takeOrRenew(ttl: long).fencing == 3)
        } catch {
            await a.close(); await b.close(); await database.drop()
            throw error
        }
        await a.close(); await b.close(); await database.drop()
    }

    @Test("membership: each heartbeat writes the member's row and lists those seen recently; leave removes it")
    func membership() async throws {
        let database = try await PostgresTestServer.makeDatabase()
        let a = try Self.lease(database, "a")
        let b = try Self.lease(database, "b")
        do {
            try await a.prepare()
            _ = try await a.heartbeat(role: "leader", timeout: .seconds(5))
            let members = try await b.heartbeat(role: "follower", timeout: .seconds(5))
            #expect(members.map(\.url) == ["http://a", "http://b"], "\(members)")
            let both = try await a.heartbeat(role: "leader", timeout: .seconds(5))
            #expect(Set(both.map(\.url)) == ["http://a", "http://b"])
            #expect(both.first { $0.id == "b" }?.role == "follower")
            try await b.leave()
            #expect(try await a.heartbeat(role: "leader", timeout: .seconds(5)).map(\.url) == ["http://a"])
            // b's own row is written and read back by the same heartbeat; on busy cores those
            // statements have taken over 100 ms, so the timeout leaves them room while "a",
            // last seen before the sleep, is past it.
            try await Task.sleep(for: .milliseconds(2_500))
            let recent = try await b.heartbeat(role: "follower", timeout: .seconds(2))
            #expect(recent.map(\.url) == ["http://b"], "a member not seen within the timeout is not listed: \(recent)")
        } catch {
            await a.close(); await b.close(); await database.drop()
            throw error
        }
        await a.close(); await b.close(); await database.drop()
    }
}
