import DispatchTestSupport
import Foundation
import Testing
@testable import SettingsStore

@Suite("SQLiteSettingsStore: what only the SQLite file has")
struct SQLiteSettingsStoreTests {
    let folder = TemporaryFolder()
    var databasePath: String { folder.file("settings.sqlite") }

    @Test("a write through a second connection is seen by the first one's next read")
    func changeDetection() throws {
        let serving = try SQLiteSettingsStore(path: databasePath)
        let cli = try SQLiteSettingsStore(path: databasePath)
        let before = try serving.generation()
        #expect(try serving.generation() == before, "no write, no change")

        _ = try cli.addFleetEntryNow(FleetEntry("https://a.example.com"), actor: .cli)
        let after = try serving.generation()
        #expect(after != before)
        #expect(try serving.fleetNow().list.urls == ["https://a.example.com"])
        #expect(try serving.generation() == after, "seen once, stable again")

        try serving.replaceFleetNow(with: .empty, expectedVersion: nil, actor: .api)
        #expect(try serving.generation() != after, "its own writes count too")
    }

    @Test("a file that is not a database is a typed error and is left as it was")
    func notADatabase() throws {
        let garbage = Data((0..<8192).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) })
        FileManager.default.createFile(atPath: databasePath, contents: garbage)
        #expect {
            try SQLiteSettingsStore(path: databasePath)
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
            let store = try SQLiteSettingsStore(path: databasePath)
            // Enough rows to span several pages, so that damaging one leaves a valid header.
            for index in 0..<200 {
                try store.replaceFleetNow(with: FleetList(validating: ["https://host-\(index).example.com/" + String(repeating: "p", count: 400)]), expectedVersion: nil, actor: .api)
            }
        }
        // Fold the WAL back into the main file, then overwrite a page in the middle.
        var bytes = try #require(FileManager.default.contents(atPath: databasePath))
        if FileManager.default.fileExists(atPath: databasePath + "-wal") {
            _ = try SQLiteSettingsStore(path: databasePath)  // checkpoint on close
            bytes = try #require(FileManager.default.contents(atPath: databasePath))
        }
        try #require(bytes.count > 4096 * 8)
        for offset in (4096 * 3)..<(4096 * 3 + 2048) { bytes[offset] = 0xA5 }
        try? FileManager.default.removeItem(atPath: databasePath + "-wal")
        try? FileManager.default.removeItem(atPath: databasePath + "-shm")
        FileManager.default.createFile(atPath: databasePath, contents: bytes)

        #expect {
            try SQLiteSettingsStore(path: databasePath)
        } throws: { error in
            guard let error = error as? SettingsStoreError, case .corrupt = error else { return false }
            return true
        }
        #expect(FileManager.default.contents(atPath: databasePath) == bytes)
    }

    @Test("a path that cannot be created is a typed error")
    func unopenablePath() {
        #expect {
            try SQLiteSettingsStore(path: "/nonexistent/dir/x.sqlite")
        } throws: { error in
            guard let error = error as? SettingsStoreError, case .cannotOpen(let path, _) = error else { return false }
            return path == "/nonexistent/dir/x.sqlite"
        }
        #expect(!FileManager.default.fileExists(atPath: "/nonexistent/dir/x.sqlite"))
    }

}
