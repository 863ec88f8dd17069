import DispatchHTTPServer
import DispatchTestSupport
import Foundation
import Logging
import PostgresSettingsStore
import SettingsStore
import Synchronization
import Testing
@testable import VoxBridgeDispatch

/// PostgreSQL going away under load, and `serve` killed during writes, with a PostgreSQL server of
/// the test's own (the shared one stays up for the other tests). The outage lasts
/// `VOXBRIDGE_OUTAGE_SECONDS` (3 s in `make test`; the acceptance run uses 30:
/// `VOXBRIDGE_OUTAGE_SECONDS=30 scripts/with-postgres.sh swift test --filter PostgresOutageTests`).
@Suite("PostgreSQL outage and crash", .serialized,
       .enabled(if: PostgresTestServer.isConfigured && PrivatePostgresServer.canRun, Comment(rawValue: PostgresTestServer.skipNote + ", as root")))
struct PostgresOutageTests {
    let folder = TemporaryFolder()
    static let outageSeconds = Int(ProcessInfo.processInfo.environment["VOXBRIDGE_OUTAGE_SECONDS"] ?? "") ?? 3

    /// Picks at about `rate` a second spread over `instances`, each released at once, until
    /// `stop` is set (bounded at 10 minutes); returns (answered, failed, first failure).
    static func pickLoad(_ instances: [String], rate: Int, stop: StopFlag) async -> (Int, Int, String?) {
        let workers = 16
        let interval = Duration.milliseconds(1_000 * workers / rate)
        return await withTaskGroup(of: (Int, Int, String?).self) { group in
            for worker in 0..<workers {
                group.addTask {
                    var (answered, failed, firstFailure) = (0, 0, String?.none)
                    var next = ContinuousClock.now
                    let deadline = ContinuousClock.now + .seconds(600)
                    var index = worker
                    while !stop.isSet, ContinuousClock.now < deadline {
                        let instance = instances[index % instances.count]
                        index += 1
                        if let pick = try? await send("POST", instance + "/v1/pick", timeout: 5), pick.status == 200,
                            let id = pick.json["reservation_id"] as? String {
                            answered += 1
                            _ = try? await send("POST", instance + "/v1/release", body: #"{"reservation_id": "\#(id)"}"#, timeout: 5)
                        } else {
                            failed += 1
                            if firstFailure == nil { firstFailure = "pick at \(instance) failed" }
                        }
                        next += interval
                        try? await Task.sleep(until: next)
                    }
                    return (answered, failed, firstFailure)
                }
            }
            return await group.reduce(into: (0, 0, String?.none)) { total, part in
                total = (total.0 + part.0, total.1 + part.1, total.2 ?? part.2)
            }
        }
    }

    /// Polls `probe` every 10 ms until it holds (at most `limit`); whether it did.
    static func eventually(within limit: Duration, _ probe: () async -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if await probe() { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return false
    }

    @Test("PostgreSQL stopped under 200 picks/s: no failed pick, writes 503, /health degraded; after the restart the next write reaches every instance within 1 s")
    func outage() async throws {
        let server = try await offThread { try PrivatePostgresServer() }
        let fake = try await FakeFleetServer(available: 100_000, workers: 100_000)
        let instances = try await ServeProcess.start(count: 3, ["--store", server.url], logFile: { folder.file("outage-\($0).log") })
        let bases = instances.map(\.base)
        let before = try await send("PUT", bases[0] + "/v1/settings/voxcore_fleet", body: #"{"voxcore_fleet": ["\#(fake.url)"]}"#)
        try #require(before.status == 200)
        for base in bases { #expect(await ClusterTests.waitForVersion(1, at: base) != nil) }

        let stop = StopFlag()
        let loadStarted = ContinuousClock.now
        let load = Task { await Self.pickLoad(bases, rate: 200, stop: stop) }
        try await Task.sleep(for: .milliseconds(500))

        try await offThread { try server.stop() }
        let stopped = ContinuousClock.now
        // Writes: 503 store_unavailable, through every instance and the CLI; nothing changes.
        for base in bases {
            let put = try await send("PUT", base + "/v1/settings/voxcore_fleet", body: #"{"voxcore_fleet": []}"#)
            #expect(put.status == 503)
            #expect(put.json["error"] as? String == "store_unavailable", "\(String(decoding: put.body, as: UTF8.self))")
            let state = try await send("PUT", base + "/v1/fleet/admin", body: #"{"url": "\#(fake.url)", "state": "draining"}"#)
            #expect(state.status == 503 && state.json["error"] as? String == "store_unavailable", "\(String(decoding: state.body, as: UTF8.self))")
        }
        let cli = try await DispatchProcess.run(["fleet", "add", "http://127.0.0.1:1", "--store", server.url])
        #expect(cli.status == 1)
        #expect(cli.standardError.contains("cannot be reached") && cli.standardError.split(separator: "\n").count == 1, "\(cli.standardError)")
        // /health says degraded (still 200), and the metric shows it.
        for base in bases {
            let degraded = await Self.eventually(within: .seconds(3)) {
                guard let health = try? await send("GET", base + "/health") else { return false }
                return health.status == 200 && health.json["status"] as? String == "degraded" && (health.json["reason"] as? String)?.isEmpty == false
            }
            #expect(degraded, "\(base) /health")
            let metrics = try await send("GET", base + "/metrics")
            #expect(String(decoding: metrics.body, as: UTF8.self).contains("voxbridge_store_up 0"))
        }
        try await Task.sleep(until: stopped + .seconds(Self.outageSeconds))

        try await offThread { try server.start() }
        let restarted = ContinuousClock.now
        var written: HTTPAnswer?
        _ = await Self.eventually(within: .seconds(5)) {
            written = try? await send("PUT", bases[1] + "/v1/settings/voxcore_fleet", body: #"{"voxcore_fleet": ["\#(fake.url)", "http://127.0.0.1:1"]}"#)
            return written?.status == 200
        }
        let version = try #require(written?.json["version"] as? Int, "no write succeeded within 5 s of the restart")
        #expect(version == 2, "nothing written before the stop was lost, and the refused writes changed nothing")
        var lags: [Double] = []
        for base in bases {
            let seen = try #require(await ClusterTests.waitForVersion(version, at: base))
            lags.append((seen - restarted).milliseconds)
        }
        for base in bases {
            #expect(await Self.eventually(within: .seconds(2)) {
                (try? await send("GET", base + "/health"))?.json["status"] as? String == "ok"
            })
        }
        try await Task.sleep(for: .milliseconds(500))
        stop.set()
        let (answered, failed, firstFailure) = await load.value
        let seconds = (ContinuousClock.now - loadStarted).milliseconds / 1000
        print(String(format: "outage %d s: %d picks answered in %.1f s (%.0f/s), %d failed; after the restart the write reached the instances %@ ms later",
                     Self.outageSeconds, answered, seconds, Double(answered) / seconds, failed,
                     lags.map { String(format: "%.0f", $0) }.joined(separator: "/")))
        #expect(failed == 0, "\(firstFailure ?? "")")
        #expect(Double(answered) / seconds >= 180, "the load reached \(Double(answered) / seconds) picks/s")
        #expect(lags.allSatisfy { $0 < 1_000 }, "\(lags)")
        let logs = try instances.map { try String(contentsOfFile: $0.log, encoding: .utf8) }
        for log in logs {
            // One line per transition, not per reconnect attempt.
            #expect(log.components(separatedBy: "settings store unreachable").count - 1 == 1, "\(log)")
            #expect(log.components(separatedBy: "settings store reachable again").count - 1 == 1, "\(log)")
        }
        instances.forEach { $0.stop() }
        await fake.stop()
    }

    @Test("kill -9 during 1,000 PUTs on PostgreSQL: the last acknowledged version is there")
    func killDuringPuts() async throws {
        let database = try await PostgresTestServer.makeDatabase()
        var generator = SystemRandomNumberGenerator()
        let killAt = Int.random(in: 200..<900, using: &generator)
        let serve = try await ServeProcess.start(count: 1, ["--store", database.url], logFile: { _ in folder.file("kill.log") })[0]
        var acknowledged = 0
        for index in 0..<1_000 {
            let body = #"{"voxcore_fleet": ["http://127.0.0.1:1/put-\#(index)"]}"#
            if index == killAt {
                let url = serve.base + "/v1/settings/voxcore_fleet"
                let put = Task { try await send("PUT", url, body: body, timeout: 5) }
                usleep(UInt32.random(in: 0..<3_000, using: &generator))
                serve.kill9()
                if let answer = try? await put.value, answer.status == 200 { acknowledged = answer.json["version"] as! Int }
                break
            }
            let answer = try await send("PUT", serve.base + "/v1/settings/voxcore_fleet", body: body)
            try #require(answer.status == 200)
            acknowledged = answer.json["version"] as! Int
        }
        #expect(serve.process.terminationReason == .uncaughtSignal)
        let store = try await PostgresSettingsStore(url: PostgresStoreURL(database.url), logger: Logger(label: "test"))
        let stored = try await store.fleet()
        #expect(stored.version == acknowledged || stored.version == acknowledged + 1, "acknowledged \(acknowledged), stored \(stored.version)")
        #expect(stored.list.urls == ["http://127.0.0.1:1/put-\(stored.version - 1)"])
        let newest = try #require(try await store.history(limit: 1).first)
        #expect(newest.version == stored.version && newest.urls == stored.list.urls)
        print("kill -9 at PUT \(killAt): acknowledged version \(acknowledged), stored version \(stored.version)")
        await store.close()
        await database.drop()
    }
}

/// A flag one task sets and others read.
final class StopFlag: Sendable {
    private let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .relaxed) }
    func set() { value.store(true, ordering: .relaxed) }
}
