import DispatchTestSupport
import Foundation
import NIOCore
@testable import VoxBridgeDispatch
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
@testable import SettingsStore
import DispatchHTTPServer
import Testing

@Suite("Command line", .serialized, .ownThreads)
struct CommandLineTests {
    let folder = TemporaryFolder()
    var db: String { folder.file("fleet.sqlite") }

    @Test("the executable is built beside the tests")
    func executableExists() {
        #expect(FileManager.default.isExecutableFile(atPath: DispatchProcess.executable.path))
    }

    @Test("fleet add, list and remove; each change a versioned CLI write")
    func fleetCommands() throws {
        var result = try DispatchProcess.runBlocking(["fleet", "add", "HTTPS://A.example.com/", "--db", db])
        #expect(result.status == 0)
        #expect(result.standardOutput.contains("added https://a.example.com"))
        result = try DispatchProcess.runBlocking(["fleet", "add", "http://127.0.0.1:9001", "--db", db])
        #expect(result.status == 0)

        result = try DispatchProcess.runBlocking(["fleet", "add", "https://a.example.com:443", "--db", db])
        #expect(result.status == 0, "adding a listed entry is not an error")
        #expect(result.standardOutput.contains("already listed"))

        result = try DispatchProcess.runBlocking(["fleet", "list", "--db", db])
        #expect(result.status == 0)
        #expect(result.standardOutput == "https://a.example.com\nhttp://127.0.0.1:9001\n")

        result = try DispatchProcess.runBlocking(["fleet", "remove", "https://b.example.com", "--db", db])
        #expect(result.status == 1)
        #expect(result.standardError.split(separator: "\n").count == 1)

        result = try DispatchProcess.runBlocking(["fleet", "remove", "https://a.example.com", "--db", db])
        #expect(result.status == 0)

        let store = try SQLiteSettingsStore(path: db)
        #expect(try store.fleetNow().list.urls == ["http://127.0.0.1:9001"])
        #expect(try store.fleetNow().version == 3)
        #expect(try store.historyNow(limit: 100).map(\.actor) == [.cli, .cli, .cli])
    }

    @Test("the database can come from VOXBRIDGE_DB")
    func databaseFromEnvironment() throws {
        let result = try DispatchProcess.runBlocking(["fleet", "add", "https://a.example.com"], environment: ["VOXBRIDGE_DB": db])
        #expect(result.status == 0)
        #expect(try SQLiteSettingsStore(path: db).fleetNow().list.urls == ["https://a.example.com"])
    }

    @Test("an invalid URL is one line on stderr, exit 1, nothing changed", arguments: [
        "ftp://a.example.com", "not a url", "https://u:p@a.example.com", "https://a.example.com/?q=1",
    ])
    func invalidURL(url: String) throws {
        let result = try DispatchProcess.runBlocking(["fleet", "add", url, "--db", db])
        #expect(result.status == 1)
        #expect(result.standardError.hasPrefix("error: "))
        #expect(result.standardError.split(separator: "\n").count == 1)
        #expect(!result.standardError.contains("Fatal error"))
        if FileManager.default.fileExists(atPath: db) {
            #expect(try SQLiteSettingsStore(path: db).fleetNow().version == 0)
        }
    }

    @Test("serve on a path that cannot be created: one line on stderr, non-zero exit")
    func serveUnopenable() throws {
        let result = try DispatchProcess.runBlocking(["serve", "--port", "0", "--db", "/nonexistent/dir/x.sqlite"])
        #expect(result.status != 0)
        #expect(result.standardError.split(separator: "\n").count == 1)
        #expect(result.standardError.contains("/nonexistent/dir/x.sqlite"))
    }

    @Test("serve and fleet on a corrupt file: one line on stderr, non-zero exit, the file untouched")
    func corruptFile() throws {
        let garbage = Data((0..<16_384).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
        FileManager.default.createFile(atPath: db, contents: garbage)
        for arguments in [["serve", "--port", "0", "--db", db], ["fleet", "list", "--db", db], ["fleet", "add", "https://a.example.com", "--db", db]] {
            let result = try DispatchProcess.runBlocking(arguments)
            #expect(result.status != 0, "\(arguments)")
            #expect(result.standardError.split(separator: "\n").count == 1, "\(arguments): \(result.standardError)")
            #expect(FileManager.default.contents(atPath: db) == garbage)
        }
    }

    @Test("serve refuses a non-loopback address without an admin token")
    func refusesPublicBind() throws {
        let result = try DispatchProcess.runBlocking(["serve", "--host", "0.0.0.0", "--port", "0", "--db", db])
        #expect(result.status != 0)
        #expect(result.standardError.contains("VOXBRIDGE_ADMIN_TOKEN"))
        #expect(result.standardError.split(separator: "\n").count == 1)
    }

    @Test("serve refuses a placeholder token: one line naming it, exit 1", arguments: [
        ["VOXBRIDGE_ADMIN_TOKEN": "change-me"],
        ["VOXBRIDGE_ADMIN_TOKEN": "3f9a1c0e7b2d", "VOXBRIDGE_PICK_TOKEN": "change-me-too"],
        ["VOXBRIDGE_ADMIN_TOKEN": "CHANGE_ME"],
    ])
    func refusesPlaceholderToken(environment: [String: String]) throws {
        let result = try DispatchProcess.runBlocking(["serve", "--port", "0", "--db", db], environment: environment)
        #expect(result.status == 1)
        #expect(result.standardError.split(separator: "\n").count == 1, "\(result.standardError)")
        let variable = environment["VOXBRIDGE_PICK_TOKEN"] == nil ? "VOXBRIDGE_ADMIN_TOKEN" : "VOXBRIDGE_PICK_TOKEN"
        #expect(result.standardError.contains("\(variable) is a placeholder"))
        #expect(!result.standardOutput.contains("listening on"))
    }

    @Test("--version prints the name and the VERSION file's release, +dev outside a package")
    func version() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let release = try String(contentsOf: root.appendingPathComponent("VERSION"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let result = try DispatchProcess.runBlocking(["--version"])
        #expect(result.status == 0)
        #expect(result.standardOutput == "voxbridge-dispatch \(release)+dev\n")
    }

    @Test("a bad option value is one line naming it", arguments: [
        (["serve", "--port", "70000"], [String: String]()),
        (["serve", "--port", "x"], [:]),
        (["serve"], ["VOXBRIDGE_PROBE_TIMEOUT_MS": "soon"]),
        (["serve"], ["VOXBRIDGE_FALL": "0"]),
        (["serve", "--request-timeout-ms", "0"], [:]),
        (["serve", "--idle-timeout-ms", "soon"], [:]),
        (["serve", "--max-connections", "-1"], [:]),
        (["serve"], ["VOXBRIDGE_REQUEST_TIMEOUT_MS": "99"]),
        (["serve"], ["VOXBRIDGE_IDLE_TIMEOUT_MS": "1e3"]),
        (["serve"], ["VOXBRIDGE_MAX_CONNECTIONS": "0"]),
        (["serve"], ["VOXBRIDGE_MAX_CONNECTIONS": "10000000"]),
        (["serve", "--probe-interval-ms", "250"], [:]),
        (["serve", "--probe-interval-ms", "100", "--freshness-ms", "0"], [:]),
        (["serve"], ["VOXBRIDGE_PROBE_INTERVAL_MS": "0"]),
        (["serve", "--advertise-url", "http://127.0.0.1:8081"], [:]),
        (["serve", "--store", "postgres://voxbridge@127.0.0.1:1/voxbridge", "--advertise-url", "http://127.0.0.1:8081"], [:]),
        (["serve"], ["VOXBRIDGE_ADVERTISE_URL": "http://127.0.0.1:8081"]),
        (["nonsense"], [:]),
    ])
    func badOption(arguments: [String], environment: [String: String]) throws {
        let result = try DispatchProcess.runBlocking(arguments + ["--db", db], environment: environment)
        #expect(result.status != 0)
        #expect(result.standardError.split(separator: "\n").count == 1, "\(result.standardError)")
    }

    @Test("--max-connections above what the file limit allows is refused at start with one line")
    func maxConnectionsAboveFileLimit() throws {
        let prlimit = ["prlimit", "--nofile=4096:4096"]
        // 4,096 descriptors allow 3,072 connections (a reserve of 1,024).
        for (arguments, environment) in [(["--max-connections", "3073"], [String: String]()), ([], ["VOXBRIDGE_MAX_CONNECTIONS": "20000"])] {
            let result = try DispatchProcess.runBlocking(["serve", "--port", "0"] + arguments + ["--db", db], environment: environment, prefix: prlimit)
            #expect(result.status == 1, "\(arguments) \(environment)")
            let lines = result.standardError.split(separator: "\n")
            #expect(lines.count == 1 && lines.first?.contains("is more than the file limit of 4096 descriptors allows (3072") == true, "\(result.standardError)")
        }
        #expect(!FileManager.default.fileExists(atPath: db), "refused before the database was opened")
    }

    @Test("--probe-interval-ms: under --freshness-ms, from the command line or the environment")
    func probeInterval() throws {
        #expect(try ServeOptions.parse([]).resolve(environment: [:]).pickerConfiguration.refreshInterval == .milliseconds(150))
        #expect(try ServeOptions.parse(["--probe-interval-ms", "100"]).resolve(environment: [:]).probeInterval == .milliseconds(100))
        #expect(try ServeOptions.parse([]).resolve(environment: ["VOXBRIDGE_PROBE_INTERVAL_MS": "200"]).probeInterval == .milliseconds(200))
        #expect(throws: (any Error).self) { try ServeOptions.parse(["--probe-interval-ms", "250"]).resolve(environment: [:]) }
    }

    @Test("--advertise-url: needs --store, and is an http(s) URL with a host and no path, normalised")
    func advertiseURL() throws {
        let store = ["--store", "postgres://voxbridge@127.0.0.1:5432/voxbridge"]
        let secret = ["VOXBRIDGE_CLUSTER_SECRET": "a-cluster-secret-of-32-characters"]
        #expect(try ServeOptions.parse(store).resolve(environment: secret).advertiseURL == nil)
        #expect(try ServeOptions.parse(store + ["--advertise-url", "HTTP://Dispatch-1.example.com:8080/"]).resolve(environment: secret)
            .advertiseURL == "http://Dispatch-1.example.com:8080")
        #expect(try ServeOptions.parse(store).resolve(environment: secret.merging(["VOXBRIDGE_ADVERTISE_URL": "https://10.0.0.2"]) { a, _ in a }).advertiseURL == "https://10.0.0.2")
        for bad in ["ftp://10.0.0.2:21", "http://10.0.0.2:8080/dispatch", "http://user@10.0.0.2", "10.0.0.2:8080", "http://", "http://10.0.0.2:8080?x=1"] {
            #expect(throws: CommandLineFailure.self, "\(bad)") {
                try ServeOptions.parse(store + ["--advertise-url", bad]).resolve(environment: secret)
            }
        }
        #expect(throws: CommandLineFailure.self, "SQLite has no lease") {
            try ServeOptions.parse(["--advertise-url", "http://10.0.0.2:8080"]).resolve(environment: secret)
        }
    }

    @Test("--advertise-url needs a cluster secret of its own: long enough, unlike the callers' tokens; a previous one only beside it")
    func clusterSecret() throws {
        let member = ["--store", "postgres://voxbridge@127.0.0.1:5432/voxbridge", "--advertise-url", "http://10.0.0.2:8080"]
        let secret = "a-cluster-secret-of-32-characters"
        let refused: [[String: String]] = [
            [:],
            ["VOXBRIDGE_CLUSTER_SECRET": "short"],
            ["VOXBRIDGE_CLUSTER_SECRET": secret, "VOXBRIDGE_PICK_TOKEN": secret],
            ["VOXBRIDGE_CLUSTER_SECRET": secret, "VOXBRIDGE_ADMIN_TOKEN": secret],
            ["VOXBRIDGE_CLUSTER_SECRET": secret, "VOXBRIDGE_CLUSTER_SECRET_PREVIOUS": "short"],
            ["VOXBRIDGE_CLUSTER_SECRET_PREVIOUS": secret],
        ]
        for environment in refused {
            #expect(throws: CommandLineFailure.self, "\(environment)") { try ServeOptions.parse(member).resolve(environment: environment) }
        }
        let rotating = try ServeOptions.parse(member).resolve(
            environment: ["VOXBRIDGE_CLUSTER_SECRET": secret, "VOXBRIDGE_CLUSTER_SECRET_PREVIOUS": "the-previous-cluster-secret"])
        #expect(rotating.clusterSecrets == [secret, "the-previous-cluster-secret"])
        // Alone, none is needed.
        #expect(try ServeOptions.parse([]).resolve(environment: [:]).clusterSecrets.isEmpty)
    }

    @Test("the connection options come from the command line, then the environment, then the defaults")
    func connectionOptions() throws {
        let defaults = try ServeOptions.parse([]).resolve(environment: [:])
        #expect(defaults.requestTimeout == .seconds(10))
        #expect(defaults.idleTimeout == .seconds(60))
        #expect(defaults.maxConnections == nil)
        #expect(defaults.connectionConfiguration(fileLimit: 4_096).maxConnections == 3_072)

        let environment = ["VOXBRIDGE_REQUEST_TIMEOUT_MS": "2000", "VOXBRIDGE_IDLE_TIMEOUT_MS": "5000", "VOXBRIDGE_MAX_CONNECTIONS": "100"]
        let fromEnvironment = try ServeOptions.parse([]).resolve(environment: environment)
        #expect(fromEnvironment.requestTimeout == .seconds(2))
        #expect(fromEnvironment.idleTimeout == .seconds(5))
        #expect(fromEnvironment.connectionConfiguration(fileLimit: 4_096) == .limits(requestTimeout: .seconds(2), idleTimeout: .seconds(5), maxConnections: 100))

        let given = try ServeOptions.parse(["--request-timeout-ms", "300", "--idle-timeout-ms", "400", "--max-connections", "7"])
            .resolve(environment: environment)
        #expect(given.connectionConfiguration(fileLimit: 4_096) == .limits(requestTimeout: .milliseconds(300), idleTimeout: .milliseconds(400), maxConnections: 7))
    }

    @Test("serve logs the real port when it is ready, answers /health, and exits 0 on SIGTERM")
    func serveLifecycle() async throws {
        let serve = try ServeProcess(["--db", db], logFile: folder.file("lifecycle.log"))
        defer { serve.stop() }
        let (process, port) = (serve.process, serve.port)
        #expect(port != 0)

        let (data, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/health")!)
        #expect((response as? HTTPURLResponse)?.statusCode == 200)
        #expect(String(decoding: data, as: UTF8.self).contains("ok"))

        process.terminate()  // SIGTERM
        let stopDeadline = ContinuousClock.now + .seconds(10)
        while process.isRunning, ContinuousClock.now < stopDeadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(!process.isRunning)
        #expect(process.terminationStatus == 0)
    }

    @Test("SIGTERM during a pick: the pick is answered, then serve exits 0")
    func gracefulShutdownAnswersPicks() async throws {
        let slow = try await FakeFleetServer(mode: .hang)
        let good = try await FakeFleetServer(available: 5)
        let store = try SQLiteSettingsStore(path: db)
        try store.replaceFleetNow(with: FleetList(validating: [slow.url, good.url]), expectedVersion: nil, actor: .cli)
        // Freshness 0: no background refresh, so the first probe to reach the slow server is the pick's.
        let serve = try ServeProcess(["--db", db, "--probe-timeout-ms", "1500", "--freshness-ms", "0"], logFile: folder.file("shutdown.log"))
        defer { serve.stop() }
        let (process, port) = (serve.process, serve.port)

        // The pick waits up to 1.5 s for the slow server's first probe; stop the service meanwhile.
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/v1/pick")!)
        request.httpMethod = "POST"
        let pick = Task { try await URLSession.shared.data(for: request) }
        // Stop once the pick is under way: its probe has reached the slow server (bounded wait).
        let probed = ContinuousClock.now + .seconds(5)
        while slow.requestCount == 0, ContinuousClock.now < probed { try await Task.sleep(for: .milliseconds(10)) }
        #expect(slow.requestCount > 0, "the pick's probe never reached the slow server")
        process.terminate()  // SIGTERM

        let (data, response) = try await pick.value
        #expect((response as? HTTPURLResponse)?.statusCode == 200)
        #expect(String(decoding: data, as: UTF8.self).contains(good.url))
        let stopDeadline = ContinuousClock.now + .seconds(10)
        while process.isRunning, ContinuousClock.now < stopDeadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(!process.isRunning)
        #expect(process.terminationStatus == 0)
        await slow.stop()
        await good.stop()
    }

    @Test("fleet add --verify adds a healthy server and refuses a closed port and bad JSON")
    func verify() async throws {
        let healthy = try await FakeFleetServer(available: 7)
        let badJSON = try await FakeFleetServer(mode: .invalidJSON)
        defer { Task { await healthy.stop(); await badJSON.stop() } }

        var result = try await DispatchProcess.run(["fleet", "add", "http://127.0.0.1:1", "--verify", "--db", db])
        #expect(result.status == 1)
        #expect(result.standardError.split(separator: "\n").count == 1)
        #expect(result.standardError.contains("connect"))

        result = try await DispatchProcess.run(["fleet", "add", badJSON.url, "--verify", "--db", db])
        #expect(result.status == 1)
        #expect(result.standardError.split(separator: "\n").count == 1)
        #expect(result.standardError.contains("invalid_json"))

        result = try await DispatchProcess.run(["fleet", "add", healthy.url, "--verify", "--db", db])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.contains("healthy, 7 of 16 workers free"))
        #expect(try SQLiteSettingsStore(path: db).fleetNow().list.urls == [healthy.url])
    }
}

extension HTTPConnectionConfiguration {
    /// The defaults with the three fields that `serve` options set.
    static func limits(requestTimeout: TimeAmount, idleTimeout: TimeAmount, maxConnections: Int) -> Self {
        var configuration = HTTPConnectionConfiguration()
        configuration.requestTimeout = requestTimeout
        configuration.idleTimeout = idleTimeout
        configuration.maxConnections = maxConnections
        return configuration
    }
}
