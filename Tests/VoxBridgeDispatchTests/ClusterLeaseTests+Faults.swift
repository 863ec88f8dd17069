import DispatchTestSupport
import Foundation
import Synchronization
import Testing
@testable import VoxBridgeDispatch

/// The faults the nemesis draws from, each alone and on a fixed timeline, with its figures.
extension ClusterLeaseTests {
    /// One pick as a caller saw it.
    struct SeenPick: Sendable {
        var sent: ContinuousClock.Instant
        var took: Duration
        var status: Int?
        var server: String?
        var term: Int?
        var decidedBy: String?
        var body: String
    }

    /// Picks at `rate` a second, spread over `bases` in turn, until `stop` (at most 60 s), each
    /// with a 5 s timeout; every answer as it came.
    static func recordPicks(_ bases: [String], rate: Int, stop: StopFlag) async -> [SeenPick] {
        let workers = 8
        let interval = Duration.milliseconds(1_000 * workers / rate)
        return await withTaskGroup(of: [SeenPick].self) { group in
            for worker in 0..<workers {
                group.addTask {
                    var seen: [SeenPick] = []
                    var next = ContinuousClock.now + interval * Double(worker) / Double(workers)
                    let deadline = ContinuousClock.now + .seconds(60)
                    var index = worker
                    while !stop.isSet, ContinuousClock.now < deadline {
                        try? await Task.sleep(until: next)
                        let sent = ContinuousClock.now
                        let answer = try? await send("POST", bases[index % bases.count] + "/v1/pick", timeout: 5)
                        seen.append(SeenPick(
                            sent: sent, took: ContinuousClock.now - sent, status: answer?.status, server: answer?.json["server"] as? String,
                            term: answer?.header("VoxBridge-Lease-Term").flatMap { Int($0) }, decidedBy: answer?.header("VoxBridge-Decided-By"),
                            body: answer.map { String(decoding: $0.body.prefix(200), as: UTF8.self) } ?? "no answer"))
                        index += 1
                        next += interval
                    }
                    return seen
                }
            }
            return await group.reduce(into: []) { $0 += $1 }.sorted { $0.sent < $1.sent }
        }
    }

    /// Terms under which more than one instance decided.
    static func termsDecidedTwice(_ picks: [SeenPick]) -> [Int] {
        var deciders: [Int: Set<String>] = [:]
        for pick in picks {
            if let term = pick.term, let decider = pick.decidedBy { deciders[term, default: []].insert(decider) }
        }
        return deciders.filter { $0.value.count > 1 }.keys.sorted()
    }

    /// Picks answered under an older term after a newer term had answered one.
    static func termRegressions(_ picks: [SeenPick]) -> Int {
        var firstAnswer: [Int: ContinuousClock.Instant] = [:]
        for pick in picks {
            guard let term = pick.term else { continue }
            let answered = pick.sent + pick.took
            if firstAnswer[term].map({ answered < $0 }) ?? true { firstAnswer[term] = answered }
        }
        return picks.filter { pick in
            guard let term = pick.term else { return false }
            return firstAnswer.contains { newer, answered in newer > term && answered < pick.sent }
        }.count
    }

    @Test("one way: for 6 s nothing a follower sends the leader passes, while the leader still reaches it: every pick sent to that follower is answered 200 with a server, one decider per term, the same leader after the heal")
    func oneWayFollowerToLeader() async throws {
        let database = try await PostgresTestServer.makeDatabase()
        let fake = try await FakeFleetServer(available: 100_000, workers: 100_000)
        // Each instance is known to the others by a proxy in front of it, which can drop what one
        // process (here a follower) sends through it.
        var fronts: [StallingProxy] = []
        var instances: [ServeProcess] = []
        defer {
            instances.forEach { $0.stop() }
            fronts.forEach { $0.stop() }
        }
        for index in 0..<3 {
            let port = try LoopbackSocket.freePort()
            let front = try StallingProxy(port: port)
            fronts.append(front)
            let arguments = ["--store", database.url, "--advertise-url", "http://127.0.0.1:\(front.port)"]
            let log = folder.file("oneway-\(index).log")
            instances.append(try await offThread {
                try ServeProcess(arguments, port: port, environment: ["VOXBRIDGE_CLUSTER_SECRET": Self.clusterSecret], logFile: log)
            })
        }
        let bases = instances.map(\.base)
        let settled = try #require(await Self.settled(bases, within: .seconds(10)))
        try await Self.setFleet([fake.url], on: bases)
        let follower = bases.indices.first { $0 != settled.leader }!

        fronts[settled.leader].block(from: instances[follower].pid)
        let cut = ContinuousClock.now
        let stop = StopFlag()
        let load = Task { await Self.recordPicks([bases[follower]], rate: 20, stop: stop) }
        try await Task.sleep(for: .seconds(6))
        stop.set()
        let picks = await load.value
        let view = try await send("GET", bases[follower] + "/v1/cluster").json
        let health = try await send("GET", bases[follower] + "/health").json
        let metrics = String(decoding: try await send("GET", bases[follower] + "/metrics").body, as: UTF8.self)
        fronts[settled.leader].unblock(from: instances[follower].pid)
        let healed = ContinuousClock.now
        let after = await Self.settled(bases, within: .seconds(2))
        let settledAfter = ContinuousClock.now - healed

        let answered = picks.filter { $0.status == 200 && $0.server == fake.url }
        let failures = picks.filter { $0.status != 200 || $0.server != fake.url }
        let slowest = picks.map(\.took).max() ?? .zero
        let late = answered.filter { $0.sent > cut + .seconds(3) }
        let lateSlowest = late.map(\.took).max() ?? .zero
        let deciders = Set(answered.compactMap(\.decidedBy)).sorted()
        print("""
            one-way follower->leader for 6 s: \(answered.count) of \(picks.count) picks sent to the follower answered 200 with a server; \
            slowest \(slowest), slowest after the first 3 s \(lateSlowest); terms \(Set(picks.compactMap(\.term)).sorted()); \
            decided by \(deciders); its view \(view["role"] ?? "?") of \(view["leader"] ?? "?"); \
            one leader \(after == nil ? "not within 2 s" : "\(settledAfter)") after the heal (term \(settled.term) -> \(after?.term ?? 0))
            """)
        #expect(failures.isEmpty, "\(failures.prefix(3).map { "\($0.status.map(String.init) ?? "-") \($0.body) after \($0.took)" })")
        #expect(Self.termsDecidedTwice(picks).isEmpty, "a term decided by two instances")
        #expect(Self.termRegressions(picks) == 0)
        #expect(picks.count >= 30)
        #expect(after != nil, "one leader within 2 s of the heal")
        #expect(health["status"] as? String == "degraded" && (health["reason"] as? String)?.contains("relayed through the other members") == true,
                "\(health)")
        #expect(metrics.contains(#"voxbridge_cluster_forwards_total{result="relayed"}"#))
        // Once the leader answers the follower again (asked every 100 ms), it forwards there directly.
        let direct = await PostgresOutageTests.eventually(within: .seconds(2)) {
            (try? await send("GET", bases[follower] + "/health"))?.json["status"] as? String == "ok"
        }
        #expect(direct, "the follower still relays after the heal")
        let log = try String(contentsOfFile: instances[follower].log, encoding: .utf8)
        #expect(log.components(separatedBy: "cannot reach the leader").count - 1 == 1, "logged once")
        #expect(log.components(separatedBy: "answers again").count - 1 == 1, "its end logged once")
        await fake.stop()
        await database.drop()
    }

    @Test("PostgreSQL stopped 0.15 s after kill -9 of the leader, mid-takeover, and started 3 s later, under 100 picks/s through the survivors: no pick fails, one decider per term, one leader within 2 s of its return",
          .enabled(if: PrivatePostgresServer.canRun, "stops a PostgreSQL server of its own: as root"))
    func databaseRestartMidTakeover() async throws {
        let server = try await offThread { try PrivatePostgresServer() }
        let fake = try await FakeFleetServer(available: 100_000, workers: 100_000)
        let instances = try await Self.startCluster(store: server.url, folder: folder, name: "midtakeover")
        defer { instances.forEach { $0.stop() } }
        let bases = instances.map(\.base)
        let before = try #require(await Self.settled(bases, within: .seconds(10)))
        try await Self.setFleet([fake.url], on: bases)
        let survivors = bases.indices.filter { $0 != before.leader }.map { bases[$0] }

        let stop = StopFlag()
        let load = Task { await Self.recordPicks(survivors, rate: 100, stop: stop) }
        try await Task.sleep(for: .milliseconds(500))
        instances[before.leader].kill9()
        let killed = ContinuousClock.now
        try await Task.sleep(for: .milliseconds(150))
        let takenMidway = await Self.clusterViews(survivors).contains { $0?["role"] as? String == "leader" }
        try await offThread { try server.stop() }
        let stoppedAfter = ContinuousClock.now - killed
        try await Task.sleep(for: .seconds(3))
        try await offThread { try server.start() }
        let restarted = ContinuousClock.now
        let after = await Self.settled(survivors, within: .seconds(5))
        let oneLeader = ContinuousClock.now - restarted
        try await Task.sleep(for: .milliseconds(300))
        stop.set()
        let picks = await load.value

        let failures = picks.filter { $0.status != 200 || $0.server != fake.url }
        let alone = picks.filter { $0.status == 200 && $0.term == nil }.count
        let slowest = picks.map(\.took).max() ?? .zero
        print("""
            PostgreSQL stopped mid-takeover (\(stoppedAfter) after kill -9 of the leader; a survivor led by then: \(takenMidway)), \
            3 s: \(picks.count - failures.count) of \(picks.count) picks answered 200 with a server, \(alone) decided alone; \
            slowest \(slowest); terms \(Set(picks.compactMap(\.term)).sorted()); one leader \(after == nil ? "not within 5 s" : "\(oneLeader)") \
            after its return (term \(before.term) -> \(after?.term ?? 0))
            """)
        #expect(failures.isEmpty, "\(failures.prefix(3).map { "\($0.status.map(String.init) ?? "-") \($0.body) after \($0.took)" })")
        #expect(Self.termsDecidedTwice(picks).isEmpty, "a term decided by two instances")
        #expect(Self.termRegressions(picks) == 0)
        #expect(after != nil && oneLeader < .seconds(2), "one leader within 2 s of the database's return")
        #expect(after.map { $0.term > before.term } ?? false)
        await fake.stop()
    }
}
