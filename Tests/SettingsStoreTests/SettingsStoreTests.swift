import Foundation
import Testing
@testable import SettingsStore

/// A fresh folder per test, removed at the end.
final class TemporaryFolder {
    let path: String

    init() {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("voxbridge-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { path + "/" + name }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

@Suite("SettingsStore: the SQLite settings database")
struct SettingsStoreTests {
    let folder = TemporaryFolder()
    var databasePath: String { folder.file("settings.sqlite") }

    @Test("a new database holds an empty list at version 0")
    func newDatabase() throws {
        let store = try SettingsStore(path: databasePath)
        let setting = try store.fleet()
        #expect(setting.list.urls.isEmpty)
        #expect(setting.version == 0)
        #expect(setting.updatedAt.hasSuffix("Z"))
        #expect(try store.history().isEmpty)
    }

    @Test("every accepted write raises the version by one and is kept in the history with its actor")
    func versionAndHistory() throws {
        let store = try SettingsStore(path: databasePath)
        let list = try FleetList(validating: ["https://a.example.com"])
        #expect(try store.replaceFleet(with: list, actor: .api).version == 1)
        #expect(try store.replaceFleet(with: list, actor: .api).version == 2, "an identical list is a write too")
        guard case .added(let added) = try store.addFleetEntry(FleetEntry("https://b.example.com"), actor: .cli) else {
            Issue.record("expected the entry to be added"); return
        }
        #expect(added.version == 3)
        #expect(try store.removeFleetEntry(FleetEntry("https://a.example.com"), actor: .cli)?.version == 4)

        let history = try store.history()
        #expect(history.map(\.version) == [4, 3, 2, 1])
        #expect(history.map(\.actor) == [.cli, .cli, .api, .api])
        #expect(history.map(\.urls) == [
            ["https://b.example.com"], ["https://a.example.com", "https://b.example.com"],
            ["https://a.example.com"], ["https://a.example.com"],
        ])
    }

    @Test("adding a listed entry and removing an unlisted one change nothing")
    func noOpChanges() throws {
        let store = try SettingsStore(path: databasePath)
        let entry = try FleetEntry("https://a.example.com")
        _ = try store.addFleetEntry(entry, actor: .cli)
        guard case .alreadyListed(let setting) = try store.addFleetEntry(FleetEntry("HTTPS://A.EXAMPLE.COM/"), actor: .cli) else {
            Issue.record("expected alreadyListed"); return
        }
        #expect(setting.version == 1)
        #expect(try store.removeFleetEntry(FleetEntry("https://z.example.com"), actor: .cli) == nil)
        #expect(try store.fleet().version == 1)
        #expect(try store.history().count == 1)
    }

    @Test("an expected version that is not current is a conflict and changes nothing")
    func ifMatch() throws {
        let store = try SettingsStore(path: databasePath)
        let list = try FleetList(validating: ["https://a.example.com"])
        #expect(try store.replaceFleet(with: list, expectedVersion: 0, actor: .api).version == 1)
        #expect(throws: SettingsStoreError.versionConflict(expected: 0, current: 1)) {
            try store.replaceFleet(with: .empty, expectedVersion: 0, actor: .api)
        }
        #expect(try store.fleet().list == list)
        #expect(try store.fleet().version == 1)
    }

    @Test("the list and version persist across reopening")
    func persistence() throws {
        let list = try FleetList(validating: ["https://a.example.com", "http://127.0.0.1:9001/voxcore"])
        do {
            let store = try SettingsStore(path: databasePath)
            try store.replaceFleet(with: list, actor: .api)
        }
        let reopened = try SettingsStore(path: databasePath)
        #expect(try reopened.fleet().list == list)
        #expect(try reopened.fleet().version == 1)
        #expect(try reopened.history().count == 1)
    }

    @Test("a write through a second connection is seen by the first one's next read")
    func changeDetection() throws {
        let serving = try SettingsStore(path: databasePath)
        let cli = try SettingsStore(path: databasePath)
        let before = try serving.generation()
        #expect(try serving.generation() == before, "no write, no change")

        _ = try cli.addFleetEntry(FleetEntry("https://a.example.com"), actor: .cli)
        let after = try serving.generation()
        #expect(after != before)
        #expect(try serving.fleet().list.urls == ["https://a.example.com"])
        #expect(try serving.generation() == after, "seen once, stable again")

        try serving.replaceFleet(with: .empty, actor: .api)
        #expect(try serving.generation() != after, "its own writes count too")
    }

    @Test("a file that is not a database is a typed error and is left as it was")
    func notADatabase() throws {
        let garbage = Data((0..<8192).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) })
        FileManager.default.createFile(atPath: databasePath, contents: garbage)
        #expect {
            try SettingsStore(path: databasePath)
        } throws: { error in
            guard let error = error as? SettingsStoreError, case .notADatabase = error else { return false }
            return true
        }
        #expect(FileManager.default.contents(atPath: databasePath) == garbage)
        #expect(!FileManager.default.fileExists(atPath: databasePath + "-wal"))
    }

    @Test("a damaged database is a typed error and is left as it was")
    func corruptDatabase() throws {
        do {
            let store = try SettingsStore(path: databasePath)
            // Enough rows to span several pages, so that damaging one leaves a valid header.
            for index in 0..<200 {
                try store.replaceFleet(with: FleetList(validating: ["https://host-\(index).example.com/" + String(repeating: "p", count: 400)]), actor: .api)
            }
        }
        // Fold the WAL back into the main file, then overwrite a page in the middle.
        var bytes = try #require(FileManager.default.contents(atPath: databasePath))
        if FileManager.default.fileExists(atPath: databasePath + "-wal") {
            _ = try SettingsStore(path: databasePath)  // checkpoint on close
            bytes = try #require(FileManager.default.contents(atPath: databasePath))
        }
        try #require(bytes.count > 4096 * 8)
        for offset in (4096 * 3)..<(4096 * 3 + 2048) { bytes[offset] = 0xA5 }
        try? FileManager.default.removeItem(atPath: databasePath + "-wal")
        try? FileManager.default.removeItem(atPath: databasePath + "-shm")
        FileManager.default.createFile(atPath: databasePath, contents: bytes)

        #expect {
            try SettingsStore(path: databasePath)
        } throws: { error in
            guard let error = error as? SettingsStoreError, case .corrupt = error else { return false }
            return true
        }
        #expect(FileManager.default.contents(atPath: databasePath) == bytes)
    }

    @Test("a path that cannot be created is a typed error")
    func unopenablePath() {
        #expect {
            try SettingsStore(path: "/nonexistent/dir/x.sqlite")
        } throws: { error in
            guard let error = error as? SettingsStoreError, case .cannotOpen(let path, _) = error else { return false }
            return path == "/nonexistent/dir/x.sqlite"
        }
        #expect(!FileManager.default.fileExists(atPath: "/nonexistent/dir/x.sqlite"))
    }

    @Test("a schema newer than this build is refused")
    func schemaTooNew() throws {
        do {
            let store = try SettingsStore(path: databasePath)
            _ = store
        }
        let raw = try SQLiteConnection(path: databasePath, create: false)
        try raw.execute("PRAGMA user_version = 99")
        #expect(throws: SettingsStoreError.schemaTooNew(found: 99, supported: SettingsStore.schemaVersion)) {
            try SettingsStore(path: databasePath)
        }
    }

    @Test("a stored value this program did not write is reported as corrupt")
    func foreignValue() throws {
        do { _ = try SettingsStore(path: databasePath) }
        let raw = try SQLiteConnection(path: databasePath, create: false)
        try raw.execute("UPDATE settings SET value = '[\"ftp://nope\"]' WHERE key = 'voxcore_fleet'")
        #expect {
            try SettingsStore(path: databasePath)
        } throws: { error in
            guard let error = error as? SettingsStoreError, case .corrupt = error else { return false }
            return true
        }
    }
}
