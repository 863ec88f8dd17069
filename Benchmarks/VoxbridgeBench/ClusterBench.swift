import ArgumentParser
import DispatchClient
import Foundation
import LoadKit
import Synchronization

/// The cluster scenarios: `voxbridge-bench --cluster NAME --store postgres://…` (`make
/// bench-cluster` starts a private PostgreSQL). Each starts voxcore-sim and three release-built
/// instances on free loopback ports, stops every child by PID, and prints its figures as it goes.
///
/// - `cluster-burst`: 64 simultaneous dialouts spread over three instances, servers with 10, 20,
///   16 and 18 free, three rounds; the cluster beside three independent instances.
/// - `cluster-latency`: 1,000 dialouts/s spread over three instances; pick latency through the
///   leader and through the followers, beside one instance alone.
/// - `failover`: 200 dialouts/s spread over three instances, each dialout retrying once on
///   another instance; kill -9 of the leader, then SIGSTOP of the next leader for 5 s.
struct ClusterBench: Sendable {
    static let scenarios = ["cluster-burst", "cluster-latency", "failover"]

    let binaries: Binaries
    let http: LoopbackHTTP
    let store: String
    let progress: ProgressPrinter
    /// Overrides the measuring time of `cluster-latency`, seconds.
    var duration: Double?
    /// Overrides the arrival rate of `cluster-latency`, dialouts/s.
    var rate: Double?
    /// The nemesis schedule's seed (`SEED`); a run with the same seed faults the same way.
    var seed: UInt64?

    /// Runs one scenario; returns its report (Markdown).
    func run(_ name: String) async throws -> String {
        switch name {
        case "cluster-burst": try await burst()
        case "cluster-latency": try await latency()
        case "failover": try await failover()
        case "nemesis": try await nemesis(seed: seed ?? UInt64(Date().timeIntervalSince1970), seconds: duration ?? 300)
        default: throw ValidationError("unknown cluster scenario \(name); one of \(Self.scenarios.joined(separator: ", "))")
        }
    }

    // MARK: - Set-up

    /// Runs `body` with a started sim, its server URLs and its control; stops it afterwards.
    func withSim<T>(_ arguments: [String], _ body: ([String], SimControl) async throws -> T) async throws -> T {
        let (sim, _) = try await ChildProcess.start(
            name: "voxcore-sim", executable: binaries.sim, arguments: arguments, readyMarker: "voxcore-sim ready")
        do {
            guard let control = sim.allOutput.split(separator: "\n").first(where: { $0.hasPrefix("control ") })?
                .split(separator: " ").last.map(String.init)
            else { throw ChildProcess.StartError(description: "voxcore-sim printed no control URL") }
            let result = try await body(sim.simServerURLs, SimControl(http: http, baseURL: control))
            await sim.stop()
            return result
        } catch {
            await sim.stop()
            throw error
        }
    }

    /// Three instances: a cluster on the store, or three independent ones (each its own file).
    func startInstances(clustered: Bool, count: Int = 3) async throws -> [ClusterInstance] {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("voxbridge-cluster-bench-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var started: [ClusterInstance] = []
        do {
            for index in 0..<count {
                started.append(try await ClusterInstance.start(
                    executable: binaries.dispatcher, store: clustered ? store : nil,
                    database: folder.appendingPathComponent("independent-\(index)-\(UUID().uuidString).sqlite").path))
            }
        } catch {
            for instance in started { await instance.child.stop() }
            throw error
        }
        return started
    }

    func stop(_ instances: [ClusterInstance]) async {
        for instance in instances { await instance.child.stop() }
    }

    /// `GET /v1/cluster` of `url`, or `nil` when it does not answer.
    /// (It answers in a millisecond or two: a view that takes half a second counts as no answer,
    /// so that one stalled request cannot hold up the measure of a settle.)
    private func view(_ url: String) async -> [String: Any]? {
        try? await http.send(.GET, url + "/v1/cluster", timeout: .milliseconds(500)).json
    }

    /// Waits (at most `limit`) until one of `urls` leads, the others follow it, and each lists
    /// all of them as members; the leader's index and term.
    func settled(_ urls: [String], within limit: Duration = .seconds(15)) async throws -> (leader: Int, term: Int) {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            var views: [[String: Any]?] = []
            for url in urls { views.append(await view(url)) }
            let leaders = views.indices.filter { views[$0]?["role"] as? String == "leader" }
            let all = Set(urls)
            if leaders.count == 1, views.allSatisfy({ view in
                view?["leader"] as? String == urls[leaders[0]]
                    && all.isSubset(of: ((view?["members"] as? [[String: Any]]) ?? []).compactMap { $0["url"] as? String })
            }), let term = (views[leaders[0]]?["lease"] as? [String: Any])?["fencing"] as? Int {
                return (leaders[0], term)
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw ChildProcess.StartError(description: "no single leader among \(urls) within \(limit)")
    }

    /// PUTs the fleet through each of `writers` and waits until every instance sees it all up.
    func setFleet(_ servers: [String], writers: [String], instances: [String]) async throws {
        let list = servers.map { "\"\($0)\"" }.joined(separator: ",")
        for writer in writers {
            let put = try await http.send(.PUT, writer + "/v1/settings/voxcore_fleet", json: #"{"voxcore_fleet":[\#(list)]}"#)
            guard put.status == 200 else { throw ChildProcess.StartError(description: "PUT fleet at \(writer): \(put.status)") }
        }
        for url in instances {
            let deadline = ContinuousClock.now + .seconds(10)
            while true {
                let fleet = try? await http.send(.GET, url + "/v1/fleet").json
                let states = (fleet?["servers"] as? [[String: Any]])?.compactMap { $0["state"] as? String } ?? []
                if states.count == servers.count, states.allSatisfy({ $0 == "up" }) { break }
                guard ContinuousClock.now < deadline else { throw ChildProcess.StartError(description: "\(url) never saw the fleet up") }
                try await Task.sleep(for: .milliseconds(20))
            }
        }
    }

    /// Starts `body(k, intendedStart)` `rate` times a second for `duration` (open loop: a slow
    /// answer does not slow the arrivals), and waits for them all.
    func openLoop(rate: Double, duration: Duration, _ body: @escaping @Sendable (Int, ContinuousClock.Instant) async -> Void) async {
        let interval = Duration.nanoseconds(Int64(1e9 / rate))
        let start = ContinuousClock.now
        await withDiscardingTaskGroup { group in
            var next = start
            var index = 0
            while next - start < duration {
                try? await Task.sleep(until: next)
                let (k, intended) = (index, next)
                group.addTask { await body(k, intended) }
                index += 1
                next += interval
            }
        }
    }

    private func clients(for urls: [String], timeout: Duration, retryOnNext: Bool) -> [DispatchClient] {
        urls.indices.map { index in
            let instances = retryOnNext ? [urls[index], urls[(index + 1) % urls.count]] : [urls[index]]
            return DispatchClient(configuration: .init(
                instances: instances, requestTimeout: timeout, connectTimeout: .milliseconds(250), maxConnectionsPerInstance: 256))
        }
    }

    private static func seconds(_ duration: Duration) -> String { String(format: "%.2f s", duration.seconds) }

    // MARK: - cluster-burst

    private func burst() async throws -> String {
        let simArguments = ["--servers", "4", "--workers", "24", "--busy", "0=14", "--busy", "1=4", "--busy", "2=8", "--busy", "3=6",
                            "--call-ms", "fixed:600000"]
        var rows: [String] = []
        try await withSim(simArguments) { servers, sim in
            for clustered in [true, false] {
                let label = clustered ? "cluster (one lease, 3 instances)" : "3 independent instances"
                try await sim.reset()
                let instances = try await startInstances(clustered: clustered)
                do {
                    let urls = instances.map(\.url)
                    if clustered { _ = try await settled(urls) }
                    try await setFleet(servers, writers: clustered ? [urls[0]] : urls, instances: urls)
                    var placed = 0, overflow = 0, noCapacity = 0, errors = 0
                    for round in 1...3 {
                        try await sim.reset()
                        try await Task.sleep(for: .milliseconds(2500))
                        let outcomes = await withTaskGroup(of: Int.self) { group in
                            for index in 0..<64 {
                                group.addTask { await self.burstDialout(through: urls[index % 3]) }
                            }
                            return await group.reduce(into: [Int]()) { $0.append($1) }
                        }
                        let roundOverflow = outcomes.filter { $0 == 429 }.count
                        placed += outcomes.filter { $0 == 200 }.count
                        overflow += roundOverflow
                        noCapacity += outcomes.filter { $0 == 503 }.count
                        errors += outcomes.filter { ![200, 429, 503].contains($0) }.count
                        progress.note("[cluster-burst] \(label) round \(round): 64 dialouts, \(outcomes.filter { $0 == 200 }.count) placed, \(roundOverflow) answered 429 (overflow)")
                    }
                    rows.append("| \(label) | 192 | \(placed) | **\(overflow)** | \(noCapacity) | \(errors) |")
                    await stop(instances)
                } catch {
                    await stop(instances)
                    throw error
                }
            }
        }
        return """
            ### cluster-burst

            4 servers × 24 workers with 10, 20, 16 and 18 free (64 in all), calls outlast the round; 3 rounds
            of 64 simultaneous dialouts, dialout *k* through instance *k* mod 3; the sim reset before each.

            | side | dialouts | placed | 429 (overflow) | no capacity | errors |
            | --- | ---: | ---: | ---: | ---: | ---: |
            \(rows.joined(separator: "\n"))
            """
    }

    /// One dialout of the burst: a pick through `url`, then the call on the chosen server;
    /// returns the sim's status (200 placed, 429 overflow), 503 for no capacity, 0 for errors.
    private func burstDialout(through url: String) async -> Int {
        guard let pick = try? await http.send(.POST, url + "/v1/pick") else { return 0 }
        guard pick.status == 200, let server = pick.json?["server"] as? String else {
            if pick.json?["error"] as? String == "no_capacity" { return 503 }
            progress.note("[cluster-burst] pick through \(url): \(pick.status) \(String(buffer: pick.body).prefix(200))")
            return 0
        }
        return (try? await http.send(.POST, server + "/livekit/dialout", json: #"{"to":"+15550100"}"#).status) ?? 0
    }

    // MARK: - cluster-latency

    private func latency() async throws -> String {
        let rate = self.rate ?? 1_000
        let measured = Duration.milliseconds(Int((duration ?? 10) * 1000))
        let simArguments = ["--servers", "8", "--workers", "500", "--call-ms", "uniform:500-1500"]
        var rows: [String] = []
        try await withSim(simArguments) { servers, sim in
            for clustered in [true, false] {
                try await sim.reset()
                let instances = try await startInstances(clustered: clustered, count: clustered ? 3 : 1)
                let urls = instances.map(\.url)
                let clients = clients(for: urls, timeout: .seconds(2), retryOnNext: false)
                do {
                    let leader = clustered ? try await settled(urls).leader : 0
                    try await setFleet(servers, writers: [urls[0]], instances: urls)
                    let recorders = Mutex([LatencyRecorder](repeating: LatencyRecorder(), count: urls.count))
                    let failures = Atomic<Int>(0)
                    // Warm the connections, then measure.
                    for client in clients { for _ in 0..<8 { if let pick = try? await client.pick() { try? await client.release(pick) } } }
                    await openLoop(rate: rate, duration: measured) { k, intended in
                        let index = k % urls.count
                        do {
                            try await clients[index].dial(onPick: { event in
                                if event.attempt == 1 { recorders.withLock { $0[index].record(event.ended - intended) } }
                            }) { pick in
                                switch await SimDialout.place(on: pick.server, http: http, stats: SideStats()) {
                                case .placed: .placed
                                case .busy: .busy
                                default: .failed
                                }
                            }
                        } catch {
                            failures.add(1, ordering: .relaxed)
                        }
                    }
                    let all = recorders.withLock { $0 }
                    if clustered {
                        var followers = LatencyRecorder()
                        for index in all.indices where index != leader { followers.add(all[index]) }
                        rows.append(Self.latencyRow("through the leader", all[leader], failures: nil))
                        rows.append(Self.latencyRow("through a follower (forwarded)", followers, failures: failures.load(ordering: .relaxed)))
                    } else {
                        rows.append(Self.latencyRow("one instance alone (anchor)", all[0], failures: failures.load(ordering: .relaxed)))
                    }
                    progress.note("[cluster-latency] \(clustered ? "cluster" : "alone"): " + rows.suffix(clustered ? 2 : 1).joined(separator: " "))
                    for client in clients { try? await client.shutdown() }
                    await stop(instances)
                } catch {
                    for client in clients { try? await client.shutdown() }
                    await stop(instances)
                    throw error
                }
            }
        }
        return """
            ### cluster-latency

            8 servers × 500 workers, calls 0.5–1.5 s; \(Int(rate)) dialouts/s for \(Self.seconds(measured)), dialout *k*
            through instance *k* mod 3 with the callers' client (pick latency from the intended start).

            | picks | count | p50 ms | p99 ms | p99.9 ms | max ms | failed dialouts |
            | --- | ---: | ---: | ---: | ---: | ---: | ---: |
            \(rows.joined(separator: "\n"))
            """
    }

    private static func latencyRow(_ label: String, _ recorder: LatencyRecorder, failures: Int?) -> String {
        let summary = recorder.summary
        return String(format: "| %@ | %d | %.2f | %.2f | %.2f | %.2f | %@ |", label, summary.count, summary.p50Ms,
                      summary.p99Ms, summary.p999Ms, summary.maxMs, failures.map(String.init) ?? "")
    }
}
