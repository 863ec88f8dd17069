import DispatchClient
import DispatchTestSupport
import Foundation
import LoadKit
import Synchronization

extension ClusterBench {
    /// One fault of the schedule.
    enum Fault: String, Sendable, CaseIterable {
        /// One instance's link to PostgreSQL stalls (open, nothing passing); callers and the other
        /// members still reach it.
        case databaseLink = "partition instance-database"
        /// Every instance's link to PostgreSQL stalls: the database is away for all.
        case databaseAway = "database away for all"
        /// kill -9 of an instance, restarted at the heal.
        case kill = "kill -9"
        /// SIGSTOP of the leader for longer than the lease, SIGCONT at the heal.
        case pause = "pause > lease"
        /// kill -9 of a follower while the database is away for all.
        case stacked = "follower killed while database away"
    }

    /// A fault as it happened: what, on whom, from when to when.
    struct FaultRecord: Sendable {
        var fault: Fault
        var victim: Int
        var start: ContinuousClock.Instant
        var end: ContinuousClock.Instant
    }

    /// SplitMix64: the schedule from `SEED` alone.
    struct SeededRandom: RandomNumberGenerator, Sendable {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// The nemesis: three instances, each reaching PostgreSQL through a proxy that can stall,
    /// 100 dialouts/s through the client library on 16 sim servers × 64 workers (calls 2–10 s),
    /// a list write every second through a random instance, and a seeded schedule of faults,
    /// each healed after 1–6 s; then the checker's table.
    func nemesis(seed: UInt64, seconds: Double) async throws -> String {
        guard let port = URLComponents(string: store)?.port else { throw ChildProcess.StartError(description: "no port in \(store)") }
        let proxies = try (0..<3).map { _ in try StallingProxy(port: port) }
        defer { proxies.forEach { $0.stop() } }
        let simArguments = ["--servers", "16", "--workers", "64", "--call-ms", "uniform:2000-10000"]
        return try await withSim(simArguments) { servers, _ in
            var instances: [ClusterInstance] = []
            for proxy in proxies {
                instances.append(try await ClusterInstance.start(executable: binaries.dispatcher, store: proxy.url(for: store), database: ""))
            }
            let urls = instances.map(\.url)
            let clients = urls.indices.map { index in
                DispatchClient(configuration: .init(
                    instances: [urls[index], urls[(index + 1) % urls.count], urls[(index + 2) % urls.count]],
                    requestTimeout: .seconds(1), connectTimeout: .milliseconds(250), maxConnectionsPerInstance: 128))
            }
            defer { for client in clients { Task { try? await client.shutdown() } } }
            do {
                let report = try await runNemesis(
                    seed: seed, seconds: seconds, servers: servers, instances: &instances, proxies: proxies, clients: clients)
                await stop(instances)
                return report
            } catch {
                await stop(instances)
                throw error
            }
        }
    }

    private func runNemesis(
        seed: UInt64, seconds: Double, servers: [String], instances: inout [ClusterInstance], proxies: [StallingProxy],
        clients: [DispatchClient]
    ) async throws -> String {
        let urls = instances.map(\.url)
        _ = try await settled(urls)
        try await setFleet(servers, writers: [urls[0]], instances: urls)
        let stats = SideStats()
        let log = LockedBox<[FailoverDialout]>([])
        let writes = LockedBox<[(at: ContinuousClock.Instant, version: Int)]>([])
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
                            if record.picked == nil { (record.picked, record.term) = (ContinuousClock.now, pick.leaseTerm) }
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
                    let unanswered: Bool = if case DispatchClientError.unavailable = error { true } else { false }
                    record.withLock { record in
                        record.failure = record.failure ?? String(describing: error).prefix(160).description
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
                    writes.withLock { $0.append((ContinuousClock.now, version)) }
                }
                try? await Task.sleep(for: .seconds(1))
            }
        }

        // The schedule: a quiet 2–5 s, a fault for 1–6 s, healed; until 8 s before the end.
        var random = SeededRandom(state: seed)
        var faults: [FaultRecord] = []
        var slowestSettle = Duration.zero
        var unsettled = 0
        try await Task.sleep(for: .seconds(3))
        while ContinuousClock.now - start < total - .seconds(8) {
            let fault = Fault.allCases.randomElement(using: &random)!
            let length = Duration.milliseconds(Int64.random(in: 1_000...6_000, using: &random))
            let leader = await currentLeader(urls)
            var victim = Int.random(in: 0..<urls.count, using: &random)
            if fault == .pause, let leader { victim = leader }
            if fault == .stacked { victim = urls.indices.filter { $0 != leader }.randomElement(using: &random) ?? victim }
            let began = ContinuousClock.now
            progress.note("[nemesis] \(at(began))  \(fault.rawValue) on \(urls[victim]) for \(String(format: "%.1f", length.seconds)) s")
            switch fault {
            case .databaseLink: proxies[victim].stall()
            case .databaseAway: proxies.forEach { $0.stall() }
            case .kill: kill(instances[victim].child.pid, SIGKILL)
            case .pause: kill(instances[victim].child.pid, SIGSTOP)
            case .stacked:
                proxies.forEach { $0.stall() }
                kill(instances[victim].child.pid, SIGKILL)
            }
            try await Task.sleep(for: length)
            switch fault {
            case .databaseLink: proxies[victim].resume()
            case .databaseAway: proxies.forEach { $0.resume() }
            case .kill, .stacked:
                proxies.forEach { $0.resume() }
                await instances[victim].child.stop()
                instances[victim] = try await instances[victim].restarted()
            case .pause: kill(instances[victim].child.pid, SIGCONT)
            }
            let healed = ContinuousClock.now
            faults.append(FaultRecord(fault: fault, victim: victim, start: began, end: healed))
            let quiet = Duration.milliseconds(Int64.random(in: 2_000...5_000, using: &random))
            if (try? await settled(urls, within: .seconds(2))) != nil {
                slowestSettle = max(slowestSettle, ContinuousClock.now - healed)
            } else {
                unsettled += 1
                progress.note("[nemesis] \(at(.now))  no single leader within 2 s of the heal")
            }
            try await Task.sleep(until: healed + quiet)
        }
        let oneLeader = unsettled == 0
        let oneLeaderAfter = slowestSettle
        await load.value
        writer.cancel()
        _ = await writer.value
        return await nemesisReport(
            seed: seed, seconds: seconds, entries: log.withLock { $0 }, faults: faults, writes: writes.withLock { $0 },
            urls: urls, oneLeader: oneLeader != nil, oneLeaderAfter: oneLeaderAfter, overflow: stats.snapshot.rejected429, start: start)
    }

    /// The index of the instance that says it leads, if one does.
    private func currentLeader(_ urls: [String]) async -> Int? {
        for (index, url) in urls.enumerated() {
            if (try? await http.send(.GET, url + "/v1/cluster").json)?["role"] as? String == "leader" { return index }
        }
        return nil
    }

    /// The checker over the recorded history.
    private func nemesisReport(
        seed: UInt64, seconds: Double, entries: [FailoverDialout], faults: [FaultRecord],
        writes: [(at: ContinuousClock.Instant, version: Int)], urls: [String], oneLeader: Bool, oneLeaderAfter: Duration,
        overflow: Int, start: ContinuousClock.Instant
    ) async -> String {
        // A dialout is in a fault's phase from the fault's start to 1 s after its heal; decided
        // alone (no lease term) is the degraded phase.
        func inFault(_ entry: FailoverDialout) -> Bool {
            faults.contains { entry.intended >= $0.start && entry.intended < $0.end + .seconds(1) }
        }
        let phases: [(String, [FailoverDialout])] = [
            ("no fault", entries.filter { !inFault($0) && $0.term != nil }),
            ("fault", entries.filter { inFault($0) && $0.term != nil }),
            ("degraded (decided alone)", entries.filter { $0.picked != nil && $0.term == nil }),
            ("no pick, no fault", entries.filter { $0.picked == nil && !inFault($0) }),
            ("no pick, fault", entries.filter { $0.picked == nil && inFault($0) }),
        ]
        var rows = phases.map { name, list in
            "| \(name) | \(list.count) | \(list.filter { $0.failure == "429" }.count) | \(list.filter { $0.picked == nil }.count) | \(list.filter(\.unanswered).count) |"
        }
        rows.insert("| phase | dialouts | 429 (over capacity) | without a pick | no instance answered |", at: 0)
        rows.insert("| --- | --- | --- | --- | --- |", at: 1)
        // The longest stretch with no successful pick, by the dialouts' start.
        let picked = entries.compactMap(\.picked).sorted()
        var longest = Duration.zero
        var longestAt = start
        for (earlier, later) in zip(picked, picked.dropFirst()) where later - earlier > longest {
            (longest, longestAt) = (later - earlier, earlier)
        }
        var reasons: [String: Int] = [:]
        for entry in entries where entry.picked == nil { reasons[String((entry.failure ?? "?").prefix(90)), default: 0] += 1 }
        let overlaps = Self.fencingOverlaps(entries)
        // Writes: versions acknowledged in order; every instance ends on one version, at least the last acknowledged.
        let versions = writes.map(\.version)
        let inOrder = zip(versions, versions.dropFirst()).allSatisfy { $0 < $1 }
        var finals: [Int] = []
        for url in urls {
            finals.append(((try? await http.send(.GET, url + "/v1/settings/voxcore_fleet").json)?["version"] as? Int) ?? -1)
        }
        let oneVersion = Set(finals).count == 1 && (finals.first ?? -1) >= (versions.last ?? 0)
        var faultCounts: [String: Int] = [:]
        for fault in faults { faultCounts[fault.fault.rawValue, default: 0] += 1 }
        return """
            ### nemesis (SEED=\(seed), \(Int(seconds)) s)

            \(faults.count) faults: \(faultCounts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")).

            \(rows.joined(separator: "\n"))

            | check | result |
            | --- | --- |
            | 429 answers in all (the sim's count) | \(overflow) |
            | longest stretch with no successful pick | \(String(format: "%.0f ms from t=%.2f s", longest.milliseconds, (longestAt - start).seconds)) |
            | dialouts without a pick, by reason | \(reasons.sorted { $0.value > $1.value }.prefix(4).map { "\($0.value): \($0.key)" }.joined(separator: "; ")) |
            | picks under an older term after a newer one answered | \(overlaps) |
            | list writes acknowledged | \(versions.count), versions in order: \(inOrder ? "yes" : "NO") |
            | every instance on one version at the end, at least the last acknowledged | \(oneVersion ? "yes" : "NO") (\(finals.map(String.init).joined(separator: ", ")); last acknowledged \(versions.last ?? 0)) |
            | one leader after each heal (slowest) | \(oneLeader ? String(format: "yes, within %.0f ms", oneLeaderAfter.milliseconds) : "NO, not within 2 s after every heal") |
            """
    }
}
