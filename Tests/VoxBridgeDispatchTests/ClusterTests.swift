import DispatchHTTPServer
import DispatchTestSupport
import Foundation
import Logging
import PostgresSettingsStore
import SettingsStore
import Synchronization
import Testing
@testable import VoxBridgeDispatch

/// Several `serve` processes on one PostgreSQL database, as an operator runs them: changes made
/// through any of them, or by the `fleet` command, reach all of them; a PostgreSQL outage leaves
/// picks running and writes refused; `store copy` moves an SQLite install. Loopback only; every
/// loop bounded in count and time; child processes stopped by PID.
@Suite("Cluster: several instances on one PostgreSQL", .serialized,
       .enabled(if: PostgresTestServer.isConfigured, Comment(rawValue: PostgresTestServer.skipNote)))
struct ClusterTests {
    let folder = TemporaryFolder()

    /// Polls `GET /v1/fleet` of `instance` until it shows `version` or later (at most 5 s);
    /// returns when it did, or `nil`.
    static func waitForVersion(_ version: Int, at instance: String) async -> ContinuousClock.Instant? {
        let deadline = ContinuousClock.now + .seconds(5)
        while ContinuousClock.now < deadline {
            if let answer = try? await send("GET", instance + "/v1/fleet", timeout: 2),
                let shown = answer.json["version"] as? Int, shown >= version {
                return .now
            }
            try? await Task.sleep(for: .milliseconds(1))
        }
        return nil
    }

    /// The p-th percentile (nearest rank) of `values`.
    static func percentile(_ values: [Double], _ p: Double) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return .nan }
        return sorted[min(sorted.count - 1, Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1)]
    }

    @Test("3 instances: PUTs through each and `fleet add` reach every instance's next pick; p99 under 100 ms over 100 writes")
    func propagation() async throws {
        let database = try await PostgresTestServer.makeDatabase()
        let fake = try await FakeFleetServer(available: 10)
        let instances = try await ServeProcess.start(count: 3, ["--store", database.url], logFile: { folder.file("serve-\($0).log") })
        // The commit's moment: when its notification reaches a listener of the test's own.
        let commits = try await NotificationRecorder(url: database.url, channel: "voxbridge_fleet")
        var fromCommit: [Double] = []
        var fromAcknowledgement: [Double] = []
        var writeDurations: [Double] = []
        var version = 0
        for index in 0..<100 {
            let started = ContinuousClock.now
            if index.isMultiple(of: 2) {
                let answer = try await send("PUT", instances[index % 3].base + "/v1/settings/voxcore_fleet",
                                            body: #"{"voxcore_fleet": ["\#(fake.url)", "http://127.0.0.1:1/w\#(index)"]}"#)
                try #require(answer.status == 200, "PUT \(index)")
                version = try #require(answer.json["version"] as? Int)
            } else {
                let result = try await DispatchProcess.run(["fleet", "add", "http://127.0.0.1:1/cli\(index)", "--store", database.url])
                try #require(result.status == 0, "fleet add \(index): \(result.standardError)")
                version += 1
                #expect(result.standardOutput.contains("(version \(version),"), "\(result.standardOutput)")
            }
            let acknowledged = ContinuousClock.now
            writeDurations.append((acknowledged - started).milliseconds)
            let written = version
            let bases = instances.map(\.base)
            let seen = await withTaskGroup(of: ContinuousClock.Instant?.self) { group in
                for base in bases { group.addTask { await Self.waitForVersion(written, at: base) } }
                return await group.reduce(into: [ContinuousClock.Instant?]()) { $0.append($1) }
            }
            // The instances may see it before the recorder has noted it: wait for it (bounded).
            var committed = commits.arrival(of: String(version))
            for _ in 0..<200 where committed == nil {
                try await Task.sleep(for: .milliseconds(10))
                committed = commits.arrival(of: String(version))
            }
            let commit = try #require(committed, "no notification of version \(version)")
            for moment in seen {
                let moment = try #require(moment, "write \(index) (version \(version)) not seen by every instance within 5 s")
                fromCommit.append((moment - commit).milliseconds)
                fromAcknowledgement.append((moment - acknowledged).milliseconds)
            }
        }
        await commits.stop()
        // The next pick on each instance uses the newest list: the fake is its only healthy server.
        for instance in instances {
            let pick = try await send("POST", instance.base + "/v1/pick")
            #expect(pick.status == 200)
            #expect(pick.json["server"] as? String == fake.url)
        }
        func figures(_ values: [Double]) -> String {
            String(format: "p50 %.1f ms, p99 %.1f ms, max %.1f ms", Self.percentile(values, 50), Self.percentile(values, 99), values.max() ?? .nan)
        }
        print("propagation, 100 writes (50 PUTs, 50 fleet add) x 3 instances = \(fromCommit.count) samples: from the commit \(figures(fromCommit)); "
              + "from the write's acknowledgement \(figures(fromAcknowledgement)); the writes themselves took \(figures(writeDurations))")
        #expect(fromCommit.count == 300)
        #expect(Self.percentile(fromCommit, 99) < 100)
        instances.forEach { $0.stop() }
        await fake.stop()
        await database.drop()
    }

    @Test("store copy: an SQLite list with history, then serve --store shows the same list, version and history")
    func storeCopy() async throws {
        let db = folder.file("old.sqlite")
        for arguments in [["fleet", "add", "https://a.example.com"], ["fleet", "add", "https://b.example.com"],
                          ["fleet", "remove", "https://a.example.com"], ["fleet", "add", "http://127.0.0.1:9001/voxcore"]] {
            let result = try await DispatchProcess.run(arguments + ["--db", db])
            try #require(result.status == 0, "\(arguments): \(result.standardError)")
        }
        let source = try SQLiteSettingsStore(path: db)
        let sourceSetting = try await source.fleet()
        let sourceHistory = try await source.history(limit: 1000)
        let database = try await PostgresTestServer.makeDatabase()

        let copy = try await DispatchProcess.run(["store", "copy", "--from", db, "--to", database.url])
        #expect(copy.status == 0, "\(copy.standardError)")
        #expect(copy.standardOutput == "copied \(db) to \(try PostgresStoreURL(database.url)): version 4, 2 servers, 4 history entries\n")

        let again = try await DispatchProcess.run(["store", "copy", "--from", db, "--to", database.url])
        #expect(again.status == 1, "a non-empty target is refused")
        #expect(again.standardError.hasPrefix("error: ") && again.standardError.split(separator: "\n").count == 1)
        #expect(again.standardError.contains("--force"))
        let forced = try await DispatchProcess.run(["store", "copy", "--from", db, "--to", database.url, "--force"])
        #expect(forced.status == 0, "\(forced.standardError)")

        let serve = try await ServeProcess.start(count: 1, ["--store", database.url], logFile: { _ in folder.file("copy.log") })[0]
        let read = try await send("GET", serve.base + "/v1/settings/voxcore_fleet")
        #expect(read.json["voxcore_fleet"] as? [String] == sourceSetting.list.urls)
        #expect(read.json["version"] as? Int == sourceSetting.version)
        #expect(read.json["updated_at"] as? String == sourceSetting.updatedAt)
        let target = try await PostgresSettingsStore(url: PostgresStoreURL(database.url), logger: Logger(label: "test"))
        #expect(try await target.history(limit: 1000) == sourceHistory)
        let list = try await DispatchProcess.run(["fleet", "list", "--store", database.url])
        #expect(list.standardOutput == "https://b.example.com\nhttp://127.0.0.1:9001/voxcore\n")
        // The next write continues the copied history.
        let write = try await send("PUT", serve.base + "/v1/settings/voxcore_fleet", body: #"{"voxcore_fleet": []}"#,
                                   headers: ["If-Match": "\"4\""])
        #expect(write.json["version"] as? Int == 5)
        serve.stop()
        await target.close()
        await database.drop()
    }

    @Test("the command line with --store: fleet commands, and every bad store in one line with exit 1")
    func commandLine() async throws {
        let database = try await PostgresTestServer.makeDatabase()
        var result = try await DispatchProcess.run(["fleet", "add", "HTTPS://A.example.com/", "--store", database.url])
        #expect(result.status == 0)
        #expect(result.standardOutput == "added https://a.example.com (version 1, 1 server)\n")
        result = try await DispatchProcess.run(["fleet", "add", "https://a.example.com"], environment: ["VOXBRIDGE_STORE": database.url])
        #expect(result.standardOutput == "https://a.example.com is already listed; nothing changed (version 1)\n")
        result = try await DispatchProcess.run(["fleet", "remove", "https://b.example.com", "--store", database.url])
        #expect(result.status == 1)
        #expect(result.standardError == "error: https://b.example.com is not in the fleet list; nothing changed\n")
        result = try await DispatchProcess.run(["fleet", "list", "--store", database.url])
        #expect(result.standardOutput == "https://a.example.com\n")

        let closedPort = try LoopbackSocket.freePort()
        let cases: [([String], [String: String], String)] = [
            (["fleet", "list", "--db", folder.file("x.sqlite"), "--store", database.url], [:], "--db and --store"),
            (["serve", "--port", "0", "--db", folder.file("x.sqlite"), "--store", database.url], [:], "--db and --store"),
            (["fleet", "list"], ["VOXBRIDGE_DB": folder.file("x.sqlite"), "VOXBRIDGE_STORE": database.url], "VOXBRIDGE_DB and VOXBRIDGE_STORE"),
            (["fleet", "list", "--store", "mysql://u@h/d"], [:], "--store: the store URL must look like"),
            (["fleet", "list", "--store", "postgres://u:hunter2@127.0.0.1/d?sslmode=prefer"], [:], "sslmode"),
            (["fleet", "add", "https://c.example.com", "--store", "postgres://voxbridge:hunter2@127.0.0.1:\(closedPort)/x"], [:], "cannot be reached"),
            (["serve", "--port", "0", "--store", "postgres://voxbridge:hunter2@127.0.0.1:\(closedPort)/x"], [:], "cannot be reached"),
            (["store", "copy", "--from", folder.file("missing.sqlite"), "--to", database.url], [:], "does not exist"),
            (["store", "copy", "--from", folder.file("x.sqlite"), "--to", "file:///x"], [:], "--to:"),
        ]
        for (arguments, environment, expected) in cases {
            let result = try await DispatchProcess.run(arguments, environment: environment)
            #expect(result.status == 1, "\(arguments)")
            #expect(result.standardError.hasPrefix("error: ") && result.standardError.split(separator: "\n").count == 1, "\(arguments): \(result.standardError)")
            #expect(result.standardError.contains(expected), "\(arguments): \(result.standardError)")
            #expect(!result.standardError.contains("hunter2"), "the password is never printed")
        }
        let store = try await PostgresSettingsStore(url: PostgresStoreURL(database.url), logger: Logger(label: "test"))
        #expect(try await store.fleet().version == 1, "no refused command changed anything")
        await store.close()
        await database.drop()
    }
}
