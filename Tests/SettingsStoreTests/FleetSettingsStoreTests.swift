import DispatchTestSupport
import Foundation
import Synchronization
import Testing
@testable import SettingsStore

/// The behaviour both stores promise, run on each (``StoreKind/testable``).
@Suite("FleetSettingsStore: the same behaviour on SQLite and PostgreSQL")
struct FleetSettingsStoreTests {
    @Test("PostgreSQL cases", .enabled(if: PostgresTestServer.isConfigured, Comment(rawValue: PostgresTestServer.skipNote)))
    func postgresCasesSkipped() {}

    @Test("a new store holds an empty list at version 0", arguments: TestStoreKind.testable)
    func newStore(kind: TestStoreKind) async throws {
        try await StoreFixture.with(kind) { fixture in
            let store = try await fixture.open()
            let setting = try await store.fleet()
            #expect(setting.list.urls.isEmpty)
            #expect(setting.version == 0)
            #expect(setting.updatedAt.hasSuffix("Z"))
            #expect(try await store.history().isEmpty)
            await store.close()
        }
    }

    @Test("every accepted write raises the version by one and is kept in the history with its actor", arguments: TestStoreKind.testable)
    func versionAndHistory(kind: TestStoreKind) async throws {
        try await StoreFixture.with(kind) { fixture in
            let store = try await fixture.open()
            let list = try FleetList(validating: ["https://a.example.com"])
            #expect(try await store.replaceFleet(with: list, actor: .api).version == 1)
            #expect(try await store.replaceFleet(with: list, actor: .api).version == 2, "an identical list is a write too")
            guard case .added(let added) = try await store.addFleetEntry(FleetEntry("https://b.example.com"), actor: .cli) else {
                Issue.record("expected the entry to be added"); return
            }
            #expect(added.version == 3)
            #expect(try await store.removeFleetEntry(FleetEntry("https://a.example.com"), actor: .cli)?.version == 4)

            let history = try await store.history()
            #expect(history.map(\.version) == [4, 3, 2, 1])
            #expect(history.map(\.actor) == [.cli, .cli, .api, .api])
            #expect(history.map(\.urls) == [
                ["https://b.example.com"], ["https://a.example.com", "https://b.example.com"],
                ["https://a.example.com"], ["https://a.example.com"],
            ])
            #expect(try await store.history(limit: 2).map(\.version) == [4, 3])
            await store.close()
        }
    }

    @Test("entries are stored normalised and read back in order", arguments: TestStoreKind.testable)
    func normalisation(kind: TestStoreKind) async throws {
        try await StoreFixture.with(kind) { fixture in
            let store = try await fixture.open()
            let list = try FleetList(validating: ["HTTPS://Fleet-1.Example.com:443/", "http://127.0.0.1:9001/voxcore/", "http://[::1]:80"])
            try await store.replaceFleet(with: list, actor: .api)
            #expect(try await store.fleet().list.urls == ["https://fleet-1.example.com", "http://127.0.0.1:9001/voxcore", "http://[::1]"])
            await store.close()
        }
    }

    @Test("every validation reason refuses the list before the store, which keeps its list", arguments: TestStoreKind.testable)
    func validationReasons(kind: TestStoreKind) async throws {
        try await StoreFixture.with(kind) { fixture in
            let store = try await fixture.open()
            try await store.replaceFleet(with: FleetList(validating: ["https://keep.example.com"]), actor: .api)
            let bad: [(String, [String])] = [
                ("not http", ["ftp://a.example.com"]), ("relative", ["/x"]), ("user info", ["https://u:p@a.example.com"]),
                ("query", ["https://a.example.com/?q"]), ("fragment", ["https://a.example.com/#f"]),
                ("too long", ["https://a.example.com/" + String(repeating: "p", count: 2049)]),
                ("duplicate", ["https://a.example.com", "https://A.example.com:443/"]),
                ("257 entries", (0..<257).map { "http://10.0.\($0 / 256).\($0 % 256)" }),
            ]
            for (name, urls) in bad {
                #expect(throws: FleetListError.self, "\(name)") { try FleetList(validating: urls) }
            }
            #expect(try await store.fleet().list.urls == ["https://keep.example.com"])
            #expect(try await store.fleet().version == 1)
            await store.close()
        }
    }

    @Test("256 entries are kept; a 257th is refused and changes nothing", arguments: TestStoreKind.testable)
    func maximumLength(kind: TestStoreKind) async throws {
        try await StoreFixture.with(kind) { fixture in
            let store = try await fixture.open()
            let urls = (0..<256).map { "http://10.0.\($0 / 256).\($0 % 256)" }
            try await store.replaceFleet(with: FleetList(validating: urls), actor: .api)
            #expect(try await store.fleet().list.urls == urls)
            guard case .listFull(let setting) = try await store.addFleetEntry(FleetEntry("http://10.9.9.9"), actor: .cli) else {
                Issue.record("expected listFull"); return
            }
            #expect(setting.version == 1)
            #expect(try await store.fleet().version == 1)
            #expect(try await store.history().count == 1)
            await store.close()
        }
    }

    @Test("adding a listed entry and removing an unlisted one change nothing", arguments: TestStoreKind.testable)
    func noOpChanges(kind: TestStoreKind) async throws {
        try await StoreFixture.with(kind) { fixture in
            let store = try await fixture.open()
            _ = try await store.addFleetEntry(FleetEntry("https://a.example.com"), actor: .cli)
            guard case .alreadyListed(let setting) = try await store.addFleetEntry(FleetEntry("HTTPS://A.EXAMPLE.COM/"), actor: .cli) else {
                Issue.record("expected alreadyListed"); return
            }
            #expect(setting.version == 1)
            #expect(try await store.removeFleetEntry(FleetEntry("https://z.example.com"), actor: .cli) == nil)
            #expect(try await store.fleet().version == 1)
            #expect(try await store.history().count == 1)
            await store.close()
        }
    }

    @Test("an expected version that is not current is a conflict and changes nothing", arguments: TestStoreKind.testable)
    func ifMatch(kind: TestStoreKind) async throws {
        try await StoreFixture.with(kind) { fixture in
            let store = try await fixture.open()
            let list = try FleetList(validating: ["https://a.example.com"])
            #expect(try await store.replaceFleet(with: list, expectedVersion: 0, actor: .api).version == 1)
            await #expect(throws: SettingsStoreError.versionConflict(expected: 0, current: 1)) {
                try await store.replaceFleet(with: .empty, expectedVersion: 0, actor: .api)
            }
            #expect(try await store.fleet().list == list)
            #expect(try await store.fleet().version == 1)
            #expect(try await store.history().count == 1)
            #expect(try await store.replaceFleet(with: .empty, expectedVersion: 1, actor: .api).version == 2, "the store still writes")
            await store.close()
        }
    }

    @Test("concurrent writers each get their own version; none is lost", arguments: TestStoreKind.testable)
    func concurrentWriters(kind: TestStoreKind) async throws {
        try await StoreFixture.with(kind) { fixture in
            let first = try await fixture.open()
            let second = try await fixture.open()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<20 {
                    let store = index.isMultiple(of: 2) ? first : second
                    group.addTask { _ = try await store.addFleetEntry(FleetEntry("http://10.1.0.\(index)"), actor: .cli) }
                }
                try await group.waitForAll()
            }
            let setting = try await first.fleet()
            #expect(setting.version == 20)
            #expect(Set(setting.list.urls) == Set((0..<20).map { "http://10.1.0.\($0)" }))
            #expect(try await first.history(limit: 1000).map(\.version) == Array((1...20).reversed()))
            await first.close()
            await second.close()
        }
    }

    @Test("the list, version and history persist across reopening", arguments: TestStoreKind.testable)
    func persistence(kind: TestStoreKind) async throws {
        try await StoreFixture.with(kind) { fixture in
            let list = try FleetList(validating: ["https://a.example.com", "http://127.0.0.1:9001/voxcore"])
            let store = try await fixture.open()
            let written = try await store.replaceFleet(with: list, actor: .api)
            await store.close()
            let reopened = try await fixture.open()
            #expect(try await reopened.fleet() == written)
            #expect(try await reopened.history().count == 1)
            await reopened.close()
        }
    }

    @Test("a write through a second connection is seen by the first one's change feed", arguments: TestStoreKind.testable)
    func secondConnection(kind: TestStoreKind) async throws {
        try await StoreFixture.with(kind) { fixture in
            let serving = try await fixture.open()
            let cli = try await fixture.open()
            let feed = try await serving.makeChangeFeed()
            let listener = Task { await feed.run { _ in } }
            var seen: [Int] = []
            try feed.poll { seen.append($0.version) }
            #expect(seen == [0], "the first poll hands over the list")
            try feed.poll { seen.append($0.version) }
            #expect(seen == [0], "no write, nothing new")

            _ = try await cli.addFleetEntry(FleetEntry("https://a.example.com"), actor: .cli)
            var latest: FleetSetting?
            let deadline = ContinuousClock.now + .seconds(5)
            while latest?.version != 1, ContinuousClock.now < deadline {
                try feed.poll { latest = $0 }
                if latest?.version != 1 { try await Task.sleep(for: .milliseconds(5)) }
            }
            #expect(latest?.version == 1)
            #expect(latest?.list.urls == ["https://a.example.com"])
            #expect(try await serving.fleet().list.urls == ["https://a.example.com"])
            #expect(feed.availability == .available)
            listener.cancel()
            await listener.value
            await serving.close()
            await cli.close()
        }
    }

    @Test("a schema newer than this build is refused", arguments: TestStoreKind.testable)
    func schemaTooNew(kind: TestStoreKind) async throws {
        try await StoreFixture.with(kind) { fixture in
            await (try await fixture.open()).close()
            try await fixture.execute(fixture.setSchemaVersion(99))
            let expected = SettingsStoreError.schemaTooNew(found: 99, supported: 1)
            await #expect(throws: expected) { try await fixture.open() }
            #expect(expected.description.contains("newer than this build supports"))
        }
    }

    @Test("a stored value this program did not write is reported as corrupt", arguments: TestStoreKind.testable)
    func foreignValue(kind: TestStoreKind) async throws {
        try await StoreFixture.with(kind) { fixture in
            await (try await fixture.open()).close()
            try await fixture.execute("UPDATE \(fixture.settingsTable) SET value = '[\"ftp://nope\"]' WHERE key = 'voxcore_fleet'")
            await #expect {
                try await fixture.open()
            } throws: { error in
                guard let error = error as? SettingsStoreError, case .corrupt = error else { return false }
                return true
            }
        }
    }
}
