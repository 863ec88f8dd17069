import DispatchClient
import DispatchTestSupport
import Foundation
import LoadKit
import Synchronization

extension ClusterBench {
    /// The nemesis: three instances on a PostgreSQL of its own, each behind a proxy the members
    /// and the callers go through and reaching the database through another (``NemesisCluster``);
    /// 100 dialouts/s through the client library on 16 sim servers × 64 workers (calls 2–10 s),
    /// a list write every second through a random instance, and a seeded schedule of faults
    /// (``NemesisFault``), one or two at once, each step healed after 1–6 s; then the checker's
    /// table (``NemesisChecker``).
    func nemesis(seed: UInt64, seconds: Double) async throws -> String {
        let simArguments = ["--servers", "16", "--workers", "64", "--call-ms", "uniform:2000-10000"]
        return try await withSim(simArguments) { servers, _ in
            let cluster = try await NemesisCluster.start(executable: binaries.dispatcher)
            let urls = cluster.urls
            let clients = urls.indices.map { index in
                DispatchClient(configuration: .init(
                    instances: [urls[index], urls[(index + 1) % urls.count], urls[(index + 2) % urls.count]],
                    requestTimeout: .seconds(1), connectTimeout: .milliseconds(250), maxConnectionsPerInstance: 128))
            }
            do {
                let report = try await runNemesis(seed: seed, seconds: seconds, servers: servers, cluster: cluster, clients: clients)
                for client in clients { try? await client.shutdown() }
                await cluster.stop()
                return report
            } catch {
                for client in clients { try? await client.shutdown() }
                await cluster.stop()
                throw error
            }
        }
    }

    private func runNemesis(
        seed: UInt64, seconds: Double, servers: [String], cluster: NemesisCluster, clients: [DispatchClient]
    ) async throws -> String {
        let urls = cluster.urls
        _ = try await settled(urls)
        try await setFleet(servers, writers: [urls[0]], instances: urls)
        let stats = SideStats()
        let log = LockedBox<[FailoverDialout]>([])
        let writes = LockedBox<[Int]>([])
        let total = Duration.milliseconds(Int64(seconds * 1_000))
        let start = ContinuousClock.now
        let (http, progress) = (http, progress)
        let at: @Sendable (ContinuousClock.Instant) -> String = { String(format: "t=%6.2f s", ($0 - start).seconds) }

        let bench = self
        let load = Task {
            await bench.openLoop(rate: 100, duration: total) { k, intended in
                let record = LockedBox(FailoverDialout(intended: intended))
                do {
                    try await clients[k % clients.count].dial { pick in
                        record.withLock { record in
                            if record.picked == nil { (record.picked, record.term, record.decidedBy, record.answeredBy) = (ContinuousClock.now, pick.leaseTerm, pick.decidedBy, pick.instance) }
                        }
                        switch await SimDialout.place(on: pick.server, http: http, stats: stats) {
                        case .placed: return .placed
                        case .busy:
                            record.withLock { $0.failure = "429" }
                            return .busy
                        default: return .failed
                        }
                    }
                } catch {
                    // No instance answered: each timed out or could not be reached (a 503 is an answer).
                    let unanswered: Bool = if case DispatchClientError.unavailable(let failures) = error {
                        failures.allSatisfy { if case .serverError = $0.reason { false } else { true } }
                    } else { false }
                    let full: Bool = if case DispatchClientError.noCapacity = error { true } else { false }
                    record.withLock { record in
                        record.failure = record.failure ?? (full ? "no_capacity" : String(describing: error).prefix(160).description)
                        record.unanswered = unanswered
                    }
                }
                let finished = record.withLock { $0 }
                log.withLock { $0.append(finished) }
            }
        }
        let list = servers.map { "\"\($0)\"" }.joined(separator: ",")
        let writer = Task {
            var random = SeededRandom(state: seed ^ 0x5752_4954)
            while ContinuousClock.now - start < total, !Task.isCancelled {
                let url = urls[Int.random(in: 0..<urls.count, using: &random)]
                if let put = try? await http.send(.PUT, url + "/v1/settings/voxcore_fleet", json: #"{"voxcore_fleet":[\#(list)]}"#),
                    put.status == 200, let version = put.json?["version"] as? Int {
                    writes.withLock { $0.append(version) }
                }
                try? await Task.sleep(for: .seconds(1))
            }
        }

        // The schedule: a quiet 2–5 s, a step of one or two faults for 1–6 s, healed; until 8 s
        // before the end.
        var random = SeededRandom(state: seed)
        var records: [NemesisFaultRecord] = []
        var settles: [Duration?] = []
        try await Task.sleep(for: .seconds(3))
        while ContinuousClock.now - start < total - .seconds(8) {
            let faults = NemesisFault.schedule(count: urls.count, leader: await currentLeader(urls), using: &random)
            let length = Duration.milliseconds(Int64.random(in: 1_000...6_000, using: &random))
            let began = ContinuousClock.now
            progress.note("[nemesis] \(at(began))  \(faults.map(\.description).joined(separator: " + ")) for \(String(format: "%.1f", length.seconds)) s")
            for fault in faults { try await cluster.inject(fault) }
            try await Task.sleep(for: length)
            // The links and the database first: a killed instance started again before its
            // store is back would exit at once (serve needs its store to start).
            for fault in faults.sorted(by: { $0.process == nil && $1.process != nil }) { try await cluster.heal(fault) }
            let healed = ContinuousClock.now
            records.append(NemesisFaultRecord(faults: faults, start: began, end: healed))
            let quiet = Duration.milliseconds(Int64.random(in: 2_000...5_000, using: &random))
            if (try? await settled(urls, within: .seconds(2))) != nil {
                settles.append(ContinuousClock.now - healed)
            } else {
                // What each instance says until they agree (at most 15 s after the heal), for the report.
                var last = ""
                var late: Duration?
                while ContinuousClock.now - healed < .seconds(15) {
                    if (try? await settled(urls, within: .milliseconds(1))) != nil {
                        late = ContinuousClock.now - healed
                        break
                    }
                    let said = await describe(urls)
                    if said != last {
                        progress.note("[nemesis] \(at(.now))  not settled: \(said)")
                        last = said
                    }
                    try await Task.sleep(for: .milliseconds(50))
                }
                settles.append(late)
                progress.note("[nemesis] \(at(.now))  no single leader within 2 s of the heal (\(late.map { String(format: "%.2f s", $0.seconds) } ?? "not within 15 s"))")
            }
            try await Task.sleep(until: healed + quiet)
        }
        await load.value
        writer.cancel()
        _ = await writer.value
        var finals: [Int] = []
        for url in urls {
            finals.append(((try? await http.send(.GET, url + "/v1/settings/voxcore_fleet").json)?["version"] as? Int) ?? -1)
        }
        let history = NemesisChecker.History(
            seed: seed, seconds: seconds, start: start, dialouts: log.withLock { $0 }, faults: records,
            acknowledged: writes.withLock { $0 }, storedVersions: try await storedVersions(cluster.postgres), finalVersions: finals,
            settles: settles, overflow: stats.snapshot.rejected429, servers: servers.count)
        return NemesisChecker(history: history).report()
    }

    /// Each instance's role, leader and members, in a line.
    private func describe(_ urls: [String]) async -> String {
        var said: [String] = []
        for url in urls {
            let view = try? await http.send(.GET, url + "/v1/cluster", timeout: .milliseconds(500)).json
            let members = (view?["members"] as? [[String: Any]])?.compactMap { ($0["url"] as? String)?.suffix(5) } ?? []
            said.append("\(url.suffix(5)): \(view?["role"] ?? "no answer") of \((view?["leader"] as? String)?.suffix(5) ?? "-") \(members.sorted())")
        }
        return said.joined(separator: "; ")
    }

    /// The index of the instance that says it leads, if one does.
    private func currentLeader(_ urls: [String]) async -> Int? {
        for (index, url) in urls.enumerated() {
            if (try? await http.send(.GET, url + "/v1/cluster").json)?["role"] as? String == "leader" { return index }
        }
        return nil
    }

    /// The list's versions in its history table, in the order written (psql).
    private func storedVersions(_ postgres: PrivatePostgresServer) async throws -> [Int] {
        let url = postgres.url
        return try await offThread { () throws -> [Int] in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: PrivatePostgresServer.binaries + "/psql")
            process.arguments = [url, "-Atc", "SELECT version FROM voxbridge_settings_history WHERE key = 'voxcore_fleet' ORDER BY id"]
            let pipe = Pipe()
            process.standardOutput = pipe
            try process.run()
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else { throw ChildProcess.StartError(description: "psql exited \(process.terminationStatus)") }
            return String(decoding: data, as: UTF8.self).split(separator: "\n").compactMap { Int($0) }
        }
    }
}
