import DispatchClient
import Foundation
import LoadKit
import Synchronization

/// `voxbridge-bench --rolling-restart`: every fleet server restarted in turn under steady
/// dialouts, (a) as the fleet's runbook does today (`systemctl restart voxcore@$i; sleep 5`) and
/// (b) with `fleet drain --wait`, restart, `fleet resume`, side by side in one run.
///
/// The fleet: 4 sim servers × 16 workers, calls of 5–20 s; the load: dialouts at half the
/// fleet's capacity (32 calls at once on average, about 2.6 dialouts/s), each picked through the
/// dispatcher and placed on the sim. A restart drops the server's calls (the sim counts them)
/// and answers nothing for 3 s. Figures per way: calls dropped by restarts, dialouts that failed
/// (the server did not answer or answered 5xx) or were refused (no capacity), and the roll's time.
struct RollingRestart {
    let binaries: Binaries
    let http: LoopbackHTTP
    let progress: ProgressPrinter

    /// One way of rolling the fleet, measured.
    struct Way: Sendable {
        var name: String
        var droppedCalls = 0
        var failedDialouts = 0
        var refusedDialouts = 0
        var placedDialouts = 0
        var rollSeconds = 0.0
    }

    /// A way's counts, shared by the dialouts in flight.
    final class Counts: Sendable {
        private let way: Mutex<Way>
        init(_ way: Way) { self.way = Mutex(way) }
        func withLock<T: Sendable>(_ body: (inout Way) -> T) -> T { way.withLock { body(&$0) } }
    }

    static let servers = 4
    static let workers = 16
    /// Half the fleet's capacity: 32 calls at once at a mean of 12.5 s each.
    static let dialoutsPerSecond = Double(servers * workers) / 2 / 12.5
    /// How long a restarting server answers nothing.
    static let restartDown = 3_000

    func run() async throws -> [Way] {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("voxbridge-rolling-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let database = folder.appendingPathComponent("bench.sqlite").path
        let (sim, _) = try await ChildProcess.start(
            name: "voxcore-sim", executable: binaries.sim,
            arguments: ["--servers", String(Self.servers), "--workers", String(Self.workers), "--call-ms", "uniform:5000-20000"],
            readyMarker: "voxcore-sim ready")
        defer { Task { await sim.stop() } }
        guard let control = sim.allOutput.split(separator: "\n").first(where: { $0.hasPrefix("control ") })?.split(separator: " ").last.map(String.init)
        else { throw ChildProcess.StartError(description: "voxcore-sim printed no control URL") }
        let servers = sim.simServerURLs
        let (dispatcher, baseURL, _) = try await ChildProcess.startDispatcher(executable: binaries.dispatcher, database: database)
        defer { Task { await dispatcher.stop() } }
        let list = servers.map { "\"\($0)\"" }.joined(separator: ",")
        guard try await http.send(.PUT, baseURL + "/v1/settings/voxcore_fleet", json: #"{"voxcore_fleet":[\#(list)]}"#).status == 200 else {
            throw ChildProcess.StartError(description: "the fleet list was not stored")
        }
        let client = DispatchClient(configuration: .init(instances: [baseURL], requestTimeout: .seconds(5), connectTimeout: .seconds(2)))
        defer { Task { try? await client.shutdown() } }

        var ways: [Way] = []
        for name in ["runbook: restart, sleep 5 s, next", "drain --wait, restart, resume"] {
            try await http.send(.POST, control + "/control/reset").expectOK("sim reset")
            let counts = Counts(Way(name: name))
            let load = Task { await dialouts(client: client, counts: counts) }
            progress.note("\(name): filling the fleet to half its capacity for 20 s")
            try await Task.sleep(for: .seconds(20))
            let before = counts.withLock { $0 }
            let start = ContinuousClock.now
            for (index, server) in servers.enumerated() {
                if name.hasPrefix("runbook") {
                    try await restart(index, control: control)
                    try await Task.sleep(for: .seconds(5))
                } else {
                    try await fleet(["drain", server, "--wait", "--timeout", "120", "--db", database])
                    try await restart(index, control: control)
                    try await waitForHealth(server)
                    try await fleet(["resume", server, "--db", database])
                }
                progress.note("\(name): server \(index) restarted")
            }
            let roll = ContinuousClock.now - start
            load.cancel()
            _ = await load.value
            var way = counts.withLock { $0 }
            way.failedDialouts -= before.failedDialouts
            way.refusedDialouts -= before.refusedDialouts
            way.placedDialouts -= before.placedDialouts
            way.rollSeconds = Double(roll.components.seconds) + Double(roll.components.attoseconds) / 1e18
            way.droppedCalls = try await droppedCalls(control: control)
            ways.append(way)
        }
        return ways
    }

    /// The open loop: a dialout every 1/rate seconds, each picked, placed and, when not placed,
    /// released with its reason; counted into `counts`.
    private func dialouts(client: DispatchClient, counts: Counts) async {
        await withTaskGroup(of: Void.self) { group in
            var next = ContinuousClock.now
            while !Task.isCancelled {
                group.addTask {
                    do {
                        let pick = try await client.pick()
                        switch await SimDialout.place(on: pick.server, http: http, stats: SideStats()) {
                        case .placed: counts.withLock { $0.placedDialouts += 1 }
                        case .busy:
                            counts.withLock { $0.failedDialouts += 1 }
                            try? await client.release(pick, reason: .busy)
                        case .failed, .unexpected:
                            counts.withLock { $0.failedDialouts += 1 }
                            try? await client.release(pick, reason: .failed)
                        case .cancelled: break
                        }
                    } catch {
                        counts.withLock { $0.refusedDialouts += 1 }
                    }
                }
                next += .seconds(1 / Self.dialoutsPerSecond)
                try? await Task.sleep(until: next, clock: .continuous)
            }
            group.cancelAll()
        }
    }

    private func restart(_ index: Int, control: String) async throws {
        try await http.send(.POST, control + "/control/servers/\(index)/restart", json: #"{"down_ms": \#(Self.restartDown)}"#).expectOK("restart")
    }

    /// Polls the server's health until it answers 200 (at most 30 s).
    private func waitForHealth(_ server: String) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if (try? await http.send(.GET, server + "/health/fleet"))?.status == 200 { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw ChildProcess.StartError(description: "\(server) did not come back")
    }

    /// Runs `voxbridge-dispatch fleet …` and waits for it; a non-zero exit is an error.
    private func fleet(_ arguments: [String]) async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binaries.dispatcher)
        process.arguments = ["fleet"] + arguments
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        while process.isRunning { try await Task.sleep(for: .milliseconds(50)) }
        guard process.terminationStatus == 0 else {
            throw ChildProcess.StartError(description: "fleet \(arguments.joined(separator: " ")) exited \(process.terminationStatus)")
        }
    }

    private func droppedCalls(control: String) async throws -> Int {
        let answer = try await http.send(.GET, control + "/control/stats")
        guard let stats = try? JSONDecoder().decode(SimStats.self, from: Data(answer.body.readableBytesView)) else {
            throw ChildProcess.StartError(description: "sim stats unreadable")
        }
        return stats.droppedCallsTotal
    }

    /// The Markdown section `make bench` writes into docs/BENCHMARKS.md.
    static func markdown(_ ways: [Way], machine: String) -> String {
        var text = """
            ## Rolling restart (make bench)

            `voxbridge-bench --rolling-restart`, \(machine): 4 sim servers × 16 workers, calls 5–20 s, \
            dialouts at half the fleet's capacity (\(String(format: "%.2f", dialoutsPerSecond))/s) through the \
            dispatcher; every server restarted in turn (its calls dropped, 3 s without an answer), the \
            fleet's runbook way and with `fleet drain --wait`, restart, `fleet resume`, in one run.

            | way | calls dropped by restarts | dialouts failed | dialouts refused (no capacity) | dialouts placed | roll took |
            | --- | --- | --- | --- | --- | --- |

            """
        for way in ways {
            text += "| \(way.name) | \(way.droppedCalls) | \(way.failedDialouts) | \(way.refusedDialouts) | \(way.placedDialouts) | \(String(format: "%.0f", way.rollSeconds)) s |\n"
        }
        text += """

            Reproduce: `make bench` (it runs this after the load scenarios), or
            `.build/release/voxbridge-bench --rolling-restart`. The drain waits for each server's longest
            call (up to 20 s here) and its quiet window (2 s), so the roll takes longer; with the other
            servers' room for the fleet's calls meanwhile, it should drop no call and fail or refuse no
            dialout.

            """
        return text
    }
}

extension LoopbackHTTP.Answer {
    /// Throws unless the answer is 200.
    func expectOK(_ what: String) throws {
        guard status == 200 else { throw ChildProcess.StartError(description: "\(what) answered \(status)") }
    }
}
