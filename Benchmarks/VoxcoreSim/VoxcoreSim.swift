import ArgumentParser
import Foundation
import Hummingbird
import LoadKit
import Logging
import ServiceLifecycle

/// `voxcore-sim`: simulated VoxCore fleet servers on loopback, for load tests and demos.
///
/// Prints one line per server (`server INDEX http://127.0.0.1:PORT`), then
/// `control http://127.0.0.1:PORT` and `voxcore-sim ready`, each flushed at once; runs until
/// SIGTERM or SIGINT.
@main
struct VoxcoreSim: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "voxcore-sim",
        abstract: "Simulated VoxCore fleet servers on 127.0.0.1 (health, dialout with 429 at capacity, failure modes).",
        discussion: """
            Modes: ok, draining, hang, 500, badjson, flap:PERIOD_MS[:FAILURE] (ok and FAILURE alternate).
            Per-server flags take INDEX=VALUE (servers count from 0), e.g. --mode 4=hang --busy 0=14.
            While it runs: GET /control/stats, POST /control/reset, and
            POST /control/servers/INDEX {"mode": "hang", "health_latency_ms": 50, "workers": 16}
            on the control port.

            POST /control/servers/INDEX/restart {"down_ms": 3000} (body optional, 3000 by default) restarts a server's workers like `systemctl restart voxcore@N`: its calls are dropped and counted (dropped_calls), its connections closed, and for down_ms every new connection is closed at once without an answer, so health probes and dialouts fail with a connection error; then it is back with every worker free.

            Each server also accepts a WebSocket on GET /attach: it sends {"server": INDEX, "url": "http://127.0.0.1:PORT"}, then echoes text until the client closes (websockets_open in /control/stats counts the open ones).
            """)

    @Option(help: "How many fleet servers.")
    var servers = 3

    @Option(help: "Workers per server (each takes one call).")
    var workers = 16

    @Option(help: "Call duration: MS, fixed:MS, uniform:MIN-MAX or exp:MEAN (milliseconds).")
    var callMs = "uniform:20000-60000"

    @Option(help: "Health answer delay in ms for every server, or INDEX=MS for one (repeatable).")
    var healthLatencyMs: [String] = []

    @Option(help: "Health mode of one server, INDEX=MODE (repeatable).")
    var mode: [String] = []

    @Option(help: "Workers of one server busy from the start with long calls, INDEX=N (repeatable).")
    var busy: [String] = []

    @Option(help: "Workers of one server, INDEX=N (repeatable; overrides --workers).")
    var workersOf: [String] = []

    @Option(help: "Server N listens on BASE+N and the control port on BASE+servers; 0: free ports.")
    var basePort = 0

    @Option(help: "Log level of the HTTP servers.")
    var logLevel = "warning"

    func run() async throws {
        guard servers > 0, servers <= 1024 else { throw ValidationError("--servers must be 1…1024") }
        guard basePort == 0 || (1024...(65_535 - servers)).contains(basePort) else {
            throw ValidationError("--base-port must be 0 or from 1024 to \(65_535 - servers)")
        }
        guard let duration = CallDuration(parsing: callMs) else {
            throw ValidationError("--call-ms: expected MS, fixed:MS, uniform:MIN-MAX or exp:MEAN")
        }
        var settings = Array(repeating: SimServerSettings(workers: workers), count: servers)
        for item in healthLatencyMs {
            if let all = Int(item) {
                for index in settings.indices { settings[index].healthLatency = .milliseconds(all) }
            } else {
                let (index, value) = try indexed(item, "--health-latency-ms")
                guard let milliseconds = Int(value) else { throw ValidationError("--health-latency-ms \(item)") }
                settings[index].healthLatency = .milliseconds(milliseconds)
            }
        }
        for item in mode {
            let (index, value) = try indexed(item, "--mode")
            guard let parsed = SimMode(parsing: value) else { throw ValidationError("--mode \(item): unknown mode") }
            settings[index].mode = parsed
        }
        for item in workersOf {
            let (index, value) = try indexed(item, "--workers-of")
            guard let count = Int(value), count >= 0 else { throw ValidationError("--workers-of \(item)") }
            settings[index].workers = count
        }
        for item in busy {
            let (index, value) = try indexed(item, "--busy")
            guard let count = Int(value), count >= 0 else { throw ValidationError("--busy \(item)") }
            settings[index].busyAtStart = count
        }

        var logger = Logger(label: "voxcore-sim")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .warning
        let fleet = SimFleet(servers: settings, callDuration: duration)
        let applications = fleet.makeApplications(basePort: basePort, logger: logger) { ports in
            var text = ""
            for (index, url) in ports.serverURLs.enumerated() { text += "server \(index) \(url)\n" }
            text += "control \(ports.controlURL)\nvoxcore-sim ready (\(ports.servers.count) servers, calls \(duration))\n"
            FileHandle.standardOutput.write(Data(text.utf8))
        }
        let group = ServiceGroup(
            services: applications.map { $0 as any Service },
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger)
        try await group.run()
    }

    private func indexed(_ item: String, _ flag: String) throws -> (Int, String) {
        let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2, let index = Int(parts[0]), (0..<servers).contains(index) else {
            throw ValidationError("\(flag) \(item): expected INDEX=VALUE with INDEX in 0..<\(servers)")
        }
        return (index, parts[1])
    }
}
