import DispatchTestSupport
import Foundation
import Testing
@testable import SettingsStore

/// Operator states kept beside the list, the same on SQLite and PostgreSQL.
@Suite("Operator states in the store: their own version and history, the list's untouched")
struct FleetAdminStoreTests {
    static let a = "https://a.example.com", b = "https://b.example.com"

    static func change(_ url: String, _ state: String, reason: String? = nil, by: String = "ops") throws -> FleetAdminChange {
        try FleetAdminChange(url: url, state: state, reason: reason, by: by)
    }

    @Test("a state change has a version of its own; the list's version does not move", arguments: TestStoreKind.testable)
    func ownVersion(kind: TestStoreKind) async throws {
        try await StoreFixture.with(kind) { fixture in
            let store = try await fixture.open()
            try await store.replaceFleet(with: try FleetList(validating: [Self.a, Self.b]), actor: .api)
            let record = try await store.setAdminState(try Self.change(Self.a, "draining", reason: "kernel upgrade"), actor: .api)
            #expect(record.url == Self.a && record.state == .draining && record.reason == "kernel upgrade" && record.by == "ops")
            #expect(record.since.hasSuffix("Z"))
            try await store.setAdminState(try Self.change(Self.b, "maintenance"), actor: .cli)
            let setting = try await store.fleet()
            #expect(setting.version == 1, "the list's version, and so its ETag, stays")
            #expect(setting.admin.version == 2)
            #expect(setting.admin.records[Self.a]?.state == .draining)
            #expect(setting.admin.records[Self.b]?.state == .maintenance)
            #expect(try await store.history().map(\.version) == [1], "the list's history has no state changes")
            // Resume: the record goes, the history keeps it.
            try await store.setAdminState(try Self.change(Self.a, "active", by: "admin"), actor: .api)
            #expect(try await store.adminStates().records.keys.sorted() == [Self.b])
            let history = try await store.adminHistory(limit: 10)
            #expect(history.map(\.version) == [3, 2, 1])
            #expect(history.map { $0.records.first?.state } == [.active, .maintenance, .draining])
            #expect(history.map(\.actor) == [.api, .cli, .api])
            await store.close()
        }
    }

    @Test("a URL not listed is refused and nothing changes", arguments: TestStoreKind.testable)
    func notListed(kind: TestStoreKind) async throws {
        try await StoreFixture.with(kind) { fixture in
            let store = try await fixture.open()
            try await store.replaceFleet(with: try FleetList(validating: [Self.a]), actor: .api)
            await #expect(throws: SettingsStoreError.notListed(url: Self.b)) {
                try await store.setAdminState(try Self.change(Self.b, "draining"), actor: .api)
            }
            #expect(try await store.adminStates() == FleetAdminStates())
            #expect(try await store.adminHistory(limit: 10).isEmpty)
            await store.close()
        }
    }

    @Test("removing a URL from the list removes its state in the same write", arguments: TestStoreKind.testable)
    func removalDropsState(kind: TestStoreKind) async throws {
        try await StoreFixture.with(kind) { fixture in
            let store = try await fixture.open()
            try await store.replaceFleet(with: try FleetList(validating: [Self.a, Self.b]), actor: .api)
            try await store.setAdminState(try Self.change(Self.a, "maintenance"), actor: .api)
            try await store.setAdminState(try Self.change(Self.b, "draining"), actor: .api)
            let after = try #require(try await store.removeFleetEntry(FleetEntry(Self.a), actor: .cli))
            #expect(after.admin.records.keys.sorted() == [Self.b], "the other server's state stays, in the setting returned too")
            #expect(try await store.adminStates().records.keys.sorted() == [Self.b])
            #expect(try await store.adminStates().version == 3)
            let dropped = try #require(try await store.adminHistory(limit: 1).first)
            #expect(dropped.records.map(\.url) == [Self.a] && dropped.records.first?.state == .active && dropped.records.first?.by == "list")
            // Listed again: it comes back active.
            _ = try await store.addFleetEntry(FleetEntry(Self.a), actor: .cli)
            #expect(try await store.fleet().admin.records[Self.a] == nil)
            await store.close()
        }
    }

    @Test("states survive closing and opening the store again", arguments: TestStoreKind.testable)
    func survivesReopen(kind: TestStoreKind) async throws {
        try await StoreFixture.with(kind) { fixture in
            let first = try await fixture.open()
            try await first.replaceFleet(with: try FleetList(validating: [Self.a]), actor: .api)
            try await first.setAdminState(try Self.change(Self.a, "draining", reason: "upgrade"), actor: .api)
            await first.close()
            let second = try await fixture.open()
            #expect(try await second.adminStates().records[Self.a]?.reason == "upgrade")
            await second.close()
        }
    }

    @Test("the change feed delivers a state change, though the list's version is the same", arguments: TestStoreKind.testable)
    func feedDeliversStates(kind: TestStoreKind) async throws {
        try await StoreFixture.with(kind) { fixture in
            let store = try await fixture.open()
            try await store.replaceFleet(with: try FleetList(validating: [Self.a]), actor: .api)
            let feed = try await store.makeChangeFeed()
            let listener = Task { await feed.run(onAvailabilityChange: { _ in }) }
            defer { listener.cancel() }
            var seen: FleetSetting?
            try feed.poll { seen = $0 }
            #expect(seen?.admin.records.isEmpty == true)
            try await store.setAdminState(try Self.change(Self.a, "maintenance"), actor: .api)
            var delivered: FleetSetting?
            let deadline = ContinuousClock.now + .seconds(5)
            while delivered?.admin.records[Self.a] == nil, ContinuousClock.now < deadline {
                try feed.poll { delivered = $0 }
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(delivered?.admin.records[Self.a]?.state == .maintenance)
            #expect(delivered?.version == 1)
            await store.close()
        }
    }

    @Test("a change is checked before anything is stored", arguments: [
        ("ftp://a.example.com", "draining", nil, "ops"), ("https://a.example.com", "paused", nil, "ops"),
        ("https://a.example.com", "draining", String(repeating: "x", count: 201), "ops"),
        ("https://a.example.com", "draining", "two\nlines", "ops"), ("https://a.example.com", "draining", nil, ""),
        ("https://a.example.com", "draining", "next\u{2028}line", "ops"), ("https://a.example.com", "draining", "\u{202E}desrever", "ops"),
        ("https://a.example.com", "draining", "c1\u{85}", "ops"),
    ] as [(String, String, String?, String)])
    func invalidChanges(url: String, state: String, reason: String?, by: String) {
        #expect(throws: FleetAdminChangeError.self) { try FleetAdminChange(url: url, state: state, reason: reason, by: by) }
    }

    @Test("a change normalises its URL and keeps a reason of 200 characters")
    func validChange() throws {
        let change = try FleetAdminChange(url: "HTTPS://A.example.com:443/", state: "maintenance", reason: String(repeating: "x", count: 200), by: "ops")
        #expect(change.url == "https://a.example.com")
        #expect(change.reason?.count == 200)
    }
}
