import CSQLite
import DispatchHTTPServer
import DispatchTestSupport
import Foundation
import Testing
@testable import SettingsStore
@testable import VoxBridgeDispatch

/// Crash safety and storage faults, with the built executable as an operator runs it: `kill -9`
/// during a stream of writes, a `fleet` write beside a long read and a held write lock, a
/// read-only database file and a full disk. Loopback only; every loop bounded.
@Suite("Faults", .serialized, .ownThreads)
struct FaultTests {
    let folder = TemporaryFolder()

    // MARK: - kill -9

    @Test("kill -9 during 1,000 PUTs: after a restart the database holds the last acknowledged version and its list")
    func killDuringPuts() async throws {
        let db = folder.file("crash.sqlite")
        var generator = SystemRandomNumberGenerator()
        let killAt = Int.random(in: 200..<900, using: &generator)
        let killDelayMicroseconds = UInt32.random(in: 0..<3_000, using: &generator)
        func list(_ index: Int) -> [String] {
            ["https://fleet-\(index % 13).example.com", "http://127.0.0.1:1/put-\(index)"]
        }

        let serve = try ServeProcess(["--db", db], logFile: folder.file("crash.log"))
        var acknowledged: (version: Int, list: [String]) = (0, [])
        var inFlight: (index: Int, list: [String])?
        for index in 0..<1_000 {
            let body = try String(decoding: JSONSerialization.data(withJSONObject: ["voxcore_fleet": list(index)]), as: UTF8.self)
            if index == killAt {
                // The kill lands while this PUT is on its way or being written.
                inFlight = (index, list(index))
                let url = serve.base + "/v1/settings/voxcore_fleet"
                let put = Task { try await send("PUT", url, body: body, timeout: 5) }
                usleep(killDelayMicroseconds)
                serve.kill9()
                if let answer = try? await put.value, answer.status == 200 {
                    acknowledged = (answer.json["version"] as! Int, list(index))
                }
                break
            }
            let answer = try await send("PUT", serve.base + "/v1/settings/voxcore_fleet", body: body)
            try #require(answer.status == 200, "PUT \(index): \(String(decoding: answer.body, as: UTF8.self))")
            acknowledged = (answer.json["version"] as! Int, answer.json["voxcore_fleet"] as! [String])
        }
        #expect(serve.process.terminationReason == .uncaughtSignal)
        #expect(acknowledged.version >= killAt, "killed at PUT \(killAt), \(killDelayMicroseconds) µs in")

        // The file opens (quick_check passes) and holds the last acknowledged write, or the one in
        // flight when it committed before the kill: never a torn or older one.
        let store = try SQLiteSettingsStore(path: db)
        let stored = try store.fleetNow()
        if stored.version == acknowledged.version {
            #expect(stored.list.urls == acknowledged.list)
        } else {
            #expect(stored.version == acknowledged.version + 1)
            #expect(stored.list.urls == inFlight?.list)
        }
        let newest = try #require(try store.historyNow(limit: 1).first)
        #expect(newest.version == stored.version && newest.urls == stored.list.urls)

        // serve starts on it again, shows it, and takes the next write.
        let again = try ServeProcess(["--db", db], logFile: folder.file("restart.log"))
        let read = try await send("GET", again.base + "/v1/settings/voxcore_fleet")
        #expect(read.status == 200)
        #expect(read.json["version"] as? Int == stored.version)
        #expect(read.json["voxcore_fleet"] as? [String] == stored.list.urls)
        let write = try await send("PUT", again.base + "/v1/settings/voxcore_fleet", body: #"{"voxcore_fleet": []}"#,
                                   headers: ["If-Match": "\"\(stored.version)\""])
        #expect(write.status == 200)
        #expect(write.json["version"] as? Int == stored.version + 1)
        again.stop()
        #expect(again.process.terminationStatus == 0)
    }

    // MARK: - Concurrent access

    /// A second connection to the database, as another process would hold one. Opened in
    /// SQLite's serialized mode, so the one hand-off to a thread below is safe.
    final class SideConnection: @unchecked Sendable {
        var handle: OpaquePointer?
        init(_ path: String) throws {
            guard sqlite3_open_v2(path, &handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, nil) == SQLITE_OK else {
                throw CommandLineFailure("cannot open \(path)")
            }
        }
        @discardableResult
        func execute(_ sql: String) -> Int32 { sqlite3_exec(handle, sql, nil, nil, nil) }
        func version() -> Int {
            var statement: OpaquePointer?
            sqlite3_prepare_v2(handle, "SELECT version FROM settings WHERE key = 'voxcore_fleet'", -1, &statement, nil)
            defer { sqlite3_finalize(statement) }
            return sqlite3_step(statement) == SQLITE_ROW ? Int(sqlite3_column_int64(statement, 0)) : -1
        }
        deinit { sqlite3_close_v2(handle) }
    }

    @Test("a fleet CLI write succeeds at once while serve runs and another connection holds a long read")
    func cliWriteDuringLongRead() async throws {
        let db = folder.file("read.sqlite")
        let healthy = try await FakeFleetServer(available: 9)
        try SQLiteSettingsStore(path: db).replaceFleetNow(with: FleetList(validating: ["http://127.0.0.1:1"]), expectedVersion: nil, actor: .cli)
        let serve = try ServeProcess(["--db", db, "--probe-timeout-ms", "300"], logFile: folder.file("read.log"))
        defer { serve.stop() }
        #expect(try await send("POST", serve.base + "/v1/pick").status == 503)

        // A read transaction that stays open for the whole write.
        let reader = try SideConnection(db)
        #expect(reader.execute("BEGIN") == SQLITE_OK)
        #expect(reader.version() == 1)

        let start = ContinuousClock.now
        let result = try await DispatchProcess.run(["fleet", "add", healthy.url, "--db", db])
        let elapsed = ContinuousClock.now - start
        #expect(result.status == 0, "\(result.standardError)")
        #expect(elapsed < .seconds(4), "a WAL reader must not block the writer: \(elapsed)")
        #expect(reader.version() == 1, "the long read keeps its snapshot")

        // serve uses the change on its next pick, with the reader still open.
        let pick = try await send("POST", serve.base + "/v1/pick")
        #expect(pick.status == 200)
        #expect(pick.json["server"] as? String == healthy.url)
        #expect(reader.execute("COMMIT") == SQLITE_OK)
        #expect(reader.version() == 2)
        await healthy.stop()
    }

    @Test("a fleet CLI write waits within the busy timeout for another process's write lock")
    func cliWriteWaitsForWriter() throws {
        let db = folder.file("busy.sqlite")
        _ = try SQLiteSettingsStore(path: db)
        let writer = try SideConnection(db)
        #expect(writer.execute("BEGIN IMMEDIATE") == SQLITE_OK)
        // Let go of the lock after 1.5 s, well inside the CLI's 5 s busy timeout.
        let release = Thread { usleep(1_500_000); writer.execute("COMMIT") }
        release.start()
        let start = ContinuousClock.now
        let result = try DispatchProcess.runBlocking(["fleet", "add", "https://a.example.com", "--db", db])
        let elapsed = ContinuousClock.now - start
        #expect(result.status == 0, "\(result.standardError)")
        #expect(elapsed >= .seconds(1), "the CLI waited for the lock: \(elapsed)")
        #expect(try SQLiteSettingsStore(path: db).fleetNow().list.urls == ["https://a.example.com"])
    }

    @Test("a settings write waiting for another process's write lock does not hold up picks")
    func writeWaitingForLockDoesNotStallPicks() async throws {
        let db = folder.file("stall.sqlite")
        let healthy = try await FakeFleetServer(available: 50, workers: 50)
        try SQLiteSettingsStore(path: db).replaceFleetNow(with: FleetList(validating: [healthy.url]), expectedVersion: nil, actor: .cli)
        let serve = try ServeProcess(["--db", db], logFile: folder.file("stall.log"))
        defer { serve.stop() }
        #expect(try await send("POST", serve.base + "/v1/pick").status == 200)

        let writer = try SideConnection(db)
        #expect(writer.execute("BEGIN IMMEDIATE") == SQLITE_OK)
        // Let go of the lock after 2 s, inside the 5 s busy timeout the PUT waits for.
        let lockHeldUntil = ContinuousClock.now + .seconds(2)
        let release = Thread { usleep(2_000_000); writer.execute("COMMIT") }
        release.start()
        let body = #"{"voxcore_fleet": ["\#(healthy.url)", "https://b.example.com"]}"#
        let settingsURL = serve.base + "/v1/settings/voxcore_fleet"
        let port = serve.port
        async let put = send("PUT", settingsURL, body: body)
        try await Task.sleep(for: .milliseconds(300))  // the PUT is waiting for the lock by now

        // Each pick on a connection of its own, so they land on every event loop of serve.
        var slowest = Duration.zero
        for _ in 0..<8 {
            let start = ContinuousClock.now
            let connection = try RawHTTPConnection(port: port)
            try connection.send("POST /v1/pick HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
            let answer = connection.answers(1).first
            slowest = max(slowest, ContinuousClock.now - start)
            #expect(answer?.statusLine.hasPrefix("HTTP/1.1 200") == true)
        }
        #expect(slowest < .seconds(1), "a pick waited for the blocked write: \(slowest)")
        #expect(ContinuousClock.now < lockHeldUntil, "the picks must run while the PUT waits for the lock")
        let written = try await put
        #expect(written.status == 200, "\(written.json)")
        await healthy.stop()
    }

    // MARK: - Storage failures

    @Test("a read-only database file: writes answer 503 (CLI one line, exit 1), picks go on from the loaded list",
          .enabled(if: FaultEnvironment.unprivilegedPrefix != nil))
    func readOnlyFile() async throws {
        let spec = try OpenAPISpec.load()
        let healthy = try await FakeFleetServer(available: 7)
        let db = folder.file("readonly.sqlite")
        do {
            let store = try SQLiteSettingsStore(path: db)
            try store.replaceFleetNow(with: FleetList(validating: [healthy.url]), expectedVersion: nil, actor: .cli)
        }
        // The folder stays writable (SQLite keeps its -wal and -shm files there); the file is not.
        chmod(folder.path, 0o777)
        chmod(db, 0o444)
        let prefix = try #require(FaultEnvironment.unprivilegedPrefix)
        // A copy of the executable that the unprivileged user can surely run, wherever the
        // build folder is.
        let executable = folder.file("voxbridge-dispatch")
        try FileManager.default.copyItem(atPath: DispatchProcess.executable.path, toPath: executable)
        chmod(executable, 0o755)

        let serve = try ServeProcess(["--db", db], prefix: prefix, executable: executable, logFile: folder.file("readonly.log"))
        defer { serve.stop() }
        #expect(try await send("POST", serve.base + "/v1/pick").status == 200)

        let put = try await send("PUT", serve.base + "/v1/settings/voxcore_fleet", body: #"{"voxcore_fleet": ["https://b.example.com"]}"#)
        try Self.expectWriteRefused(put, mentioning: "read-only", spec: spec)
        try await Self.expectPicksGoOn(serve: serve, healthy: healthy)

        let cli = try DispatchProcess.runBlocking(["fleet", "add", "https://c.example.com", "--db", db], prefix: prefix, executable: executable)
        #expect(cli.status == 1)
        #expect(cli.standardError.split(separator: "\n").count == 1, "\(cli.standardError)")
        #expect(cli.standardError.contains("read-only"), "\(cli.standardError)")
        serve.stop()
        await healthy.stop()
        chmod(db, 0o644)
        #expect(try SQLiteSettingsStore(path: db).fleetNow().version == 1)
    }

    @Test("a full disk: writes answer 503 (CLI one line, exit 1) and change nothing, picks go on, writes work once there is room",
          .enabled(if: FaultEnvironment.canMountTmpfs))
    func diskFull() async throws {
        let spec = try OpenAPISpec.load()
        let healthy = try await FakeFleetServer(available: 5)
        let mountPoint = folder.file("small-disk")
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        try #require(system(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mountPoint]) == 0)
        defer { system(["umount", "-l", mountPoint]) }
        let db = mountPoint + "/settings.sqlite"
        do {
            let store = try SQLiteSettingsStore(path: db)
            try store.replaceFleetNow(with: FleetList(validating: [healthy.url]), expectedVersion: nil, actor: .cli)
        }

        let serve = try ServeProcess(["--db", db], logFile: folder.file("full.log"))
        defer { serve.stop() }
        #expect(try await send("POST", serve.base + "/v1/pick").status == 200)

        // Fill the disk to the last byte.
        let filler = mountPoint + "/filler"
        FileManager.default.createFile(atPath: filler, contents: nil)
        let fd = open(filler, O_WRONLY)
        var chunk = [UInt8](repeating: 0xAB, count: 65_536)
        while chunk.count > 0 {
            let written = chunk.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if written <= 0 { chunk = [UInt8](repeating: 0xAB, count: chunk.count / 2) }
        }
        close(fd)

        let urls = (0..<100).map { "https://fleet-\($0).example.com/" + String(repeating: "p", count: 1_000) }
        let body = try String(decoding: JSONSerialization.data(withJSONObject: ["voxcore_fleet": urls]), as: UTF8.self)
        let put = try await send("PUT", serve.base + "/v1/settings/voxcore_fleet", body: body)
        try Self.expectWriteRefused(put, mentioning: "disk is full", spec: spec)
        let read = try await Self.expectPicksGoOn(serve: serve, healthy: healthy)
        #expect(read.json["voxcore_fleet"] as? [String] == [healthy.url])

        let cli = try DispatchProcess.runBlocking(["fleet", "add", "https://c.example.com/" + String(repeating: "q", count: 2_000), "--db", db])
        #expect(cli.status == 1)
        #expect(cli.standardError.split(separator: "\n").count == 1, "\(cli.standardError)")
        #expect(cli.standardError.contains("disk is full"), "\(cli.standardError)")

        // Room again: the same write is accepted without a restart.
        try FileManager.default.removeItem(atPath: filler)
        let retry = try await send("PUT", serve.base + "/v1/settings/voxcore_fleet", body: body)
        #expect(retry.status == 200)
        #expect(retry.json["version"] as? Int == 2)
        serve.stop()
        await healthy.stop()
        let store = try SQLiteSettingsStore(path: db)
        #expect(try store.fleetNow().version == 2)
        #expect(try store.historyNow(limit: 100).map(\.version) == [2, 1])
    }

    /// A settings write the storage refused: 503 `settings_unavailable` naming the cause, in
    /// the shape the OpenAPI document gives.
    static func expectWriteRefused(_ put: HTTPAnswer, mentioning cause: String, spec: OpenAPISpec) throws {
        #expect(put.status == 503)
        #expect(put.json["error"] as? String == "settings_unavailable")
        #expect((put.json["message"] as? String)?.contains(cause) == true, "\(put.json)")
        let problems = spec.problems(method: "PUT", path: "/v1/settings/voxcore_fleet", status: put.status, headers: put.headers, body: put.body)
        #expect(problems.isEmpty, "\(problems)")
    }

    /// Picks keep working from the list already loaded, still at version 1; returns that read.
    @discardableResult
    static func expectPicksGoOn(serve: ServeProcess, healthy: FakeFleetServer) async throws -> HTTPAnswer {
        let pick = try await send("POST", serve.base + "/v1/pick")
        #expect(pick.status == 200)
        #expect(pick.json["server"] as? String == healthy.url)
        let read = try await send("GET", serve.base + "/v1/settings/voxcore_fleet")
        #expect(read.json["version"] as? Int == 1)
        return read
    }
}
