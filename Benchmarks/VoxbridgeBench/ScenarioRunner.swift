import DispatchClient
import Foundation
import NIOCore
import HealthProber
import LoadKit

/// Runs one scenario end to end: starts the sim and a release-built dispatcher on free loopback
/// ports, runs the dispatcher's side and then the naive picker's side against the same sim
/// (reset in between), and stops both children by PID whatever happens.
struct ScenarioRunner {
    enum Side: String, Sendable { case ours, naive, both }

    let scenario: Scenario
    let binaries: Binaries
    let http: LoopbackHTTP
    let sides: Side
    let progress: ProgressPrinter
    /// `GET /v1/fleet/events` streams held open against the dispatcher while it is measured.
    var eventStreams = 0

    func run() async throws -> ScenarioResult {
        let (sim, simLine) = try await ChildProcess.start(
            name: "voxcore-sim", executable: binaries.sim,
            arguments: ["--servers", String(scenario.servers)] + scenario.simArguments,
            readyMarker: "voxcore-sim ready")
        do {
            let result = try await run(sim: sim)
            await sim.stop()
            return result
        } catch {
            progress.note("\(scenario.name): \(error)\n--- sim said: \(simLine)\n\(sim.outputTail)")
            await sim.stop()
            throw error
        }
    }

    private func run(sim: ChildProcess) async throws -> ScenarioResult {
        let output = sim.allOutput.split(separator: "\n")
        let servers = sim.simServerURLs
        guard servers.count == scenario.servers,
              let control = output.first(where: { $0.hasPrefix("control ") })?.split(separator: " ").last.map(String.init)
        else { throw ChildProcess.StartError(description: "voxcore-sim: unexpected output:\n\(sim.outputTail)") }
        let simulator = SimControl(http: http, baseURL: control)
        var result = ScenarioResult(scenario: scenario)
        if sides != .naive {
            result.ours = try await runOurs(servers: servers, sim: simulator)
        }
        if sides != .ours {
            result.naive = try await runNaive(servers: servers, sim: simulator)
        }
        return result
    }

    // MARK: - The dispatcher's side

    private func runOurs(servers: [String], sim: SimControl) async throws -> SideResult {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("voxbridge-bench-\(getpid())-\(scenario.name)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let (dispatcher, baseURL, _) = try await ChildProcess.startDispatcher(
            executable: binaries.dispatcher, database: folder.appendingPathComponent("bench.sqlite").path,
            arguments: scenario.dispatcherArguments)
        do {
            let side = try await measureOurs(baseURL: baseURL, servers: servers, sim: sim, dispatcher: dispatcher)
            await dispatcher.stop()
            return side
        } catch {
            progress.note("voxbridge-dispatch output:\n\(dispatcher.outputTail)")
            await dispatcher.stop()
            throw error
        }
    }

    private func measureOurs(
        baseURL: String, servers: [String], sim: SimControl, dispatcher: ChildProcess
    ) async throws -> SideResult {
        let list = servers.map { "\"\($0)\"" }.joined(separator: ",")
        let put = try await http.send(.PUT, baseURL + "/v1/settings/voxcore_fleet", json: #"{"voxcore_fleet":[\#(list)]}"#)
        guard put.status == 200 else {
            throw ChildProcess.StartError(description: "PUT /v1/settings/voxcore_fleet answered \(put.status): \(String(buffer: put.body))")
        }
        // The callers' client, sized like the bench's own HTTP client (256 connections, 5 s).
        let client = DispatchClient(configuration: .init(
            instances: [baseURL], requestTimeout: .seconds(5), connectTimeout: .seconds(2), maxConnectionsPerInstance: 256))
        do {
            let result = try await warmUpAndMeasure(client: client, baseURL: baseURL, servers: servers, sim: sim, dispatcher: dispatcher)
            try? await client.shutdown()
            return result
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    private func warmUpAndMeasure(
        client: DispatchClient, baseURL: String, servers: [String], sim: SimControl, dispatcher: ChildProcess
    ) async throws -> SideResult {
        try await sim.reset()
        let warmUpStart = ContinuousClock.now
        switch scenario.warmUp {
        case .connections:
            for _ in 0..<8 { await pickAndRelease(client) }
        case .untilDown(let index):
            let deadline = ContinuousClock.now + .seconds(20)
            while ContinuousClock.now < deadline {
                await pickAndRelease(client)
                if try await serverState(baseURL: baseURL, url: servers[index]) == "down" { break }
            }
            guard try await serverState(baseURL: baseURL, url: servers[index]) == "down" else {
                throw ChildProcess.StartError(description: "the dead server was not down after 20 s of picks")
            }
        }
        let warmUp = ContinuousClock.now - warmUpStart
        try await sim.reset()
        let picker = DispatcherPicker(client: client)
        guard eventStreams > 0 else {
            return try await measure(
                side: "ours", picker: picker, sim: sim, dispatcher: (dispatcher.pid, baseURL), warmUp: warmUp)
        }
        let streams = EventStreamLoad(baseURL: baseURL, count: eventStreams)
        await streams.start()
        progress.note("holding \(streams.opened.load(ordering: .relaxed)) of \(eventStreams) event streams open (\(streams.refused.load(ordering: .relaxed)) refused)")
        do {
            let side = try await measure(
                side: "ours", picker: picker, sim: sim, dispatcher: (dispatcher.pid, baseURL), warmUp: warmUp)
            progress.note("event streams: \(streams.opened.load(ordering: .relaxed)) open, \(streams.parts.load(ordering: .relaxed)) events read")
            await streams.stop()
            return side
        } catch {
            await streams.stop()
            throw error
        }
    }

    private func pickAndRelease(_ client: DispatchClient) async {
        if let pick = try? await client.pick() {
            try? await client.release(pick, reason: .notPlaced)
        }
    }

    private func serverState(baseURL: String, url: String) async throws -> String? {
        let answer = try await http.send(.GET, baseURL + "/v1/fleet")
        let servers = answer.json?["servers"] as? [[String: Any]] ?? []
        return servers.first { $0["url"] as? String == url }?["state"] as? String
    }

    // MARK: - The naive side

    private func runNaive(servers: [String], sim: SimControl) async throws -> SideResult {
        let prober = try HealthProber(configuration: .init(timeout: Scenario.probeTimeout))
        defer { prober.shutdown() }
        let picker = NaivePicker(prober: prober, servers: servers)
        try await sim.reset()
        let warmUpStart = ContinuousClock.now
        _ = await picker.pick(exclude: [])
        let warmUp = ContinuousClock.now - warmUpStart
        try await sim.reset()
        return try await measure(side: "naive", picker: picker, sim: sim, dispatcher: nil, warmUp: warmUp)
    }

    // MARK: - Measuring

    private func measure(
        side: String, picker: any Picker, sim: SimControl, dispatcher: (pid: Int32, baseURL: String)?, warmUp: Duration
    ) async throws -> SideResult {
        let stats = SideStats()
        let dispatcherPID = dispatcher?.pid
        var picksBefore: (picked: Double, inPipeline: Double)?
        if let dispatcher { picksBefore = try await pickCounters(baseURL: dispatcher.baseURL) }
        let healthBefore = try await sim.healthRequestsTotal()
        let dispatcherBefore = dispatcherPID.flatMap { ProcessStats.read(pid: $0) }
        let benchBefore = ProcessStats.read(pid: getpid())
        let label = "\(scenario.name) \(side)"
        let printer = Task { await progress.follow(label: label, stats: stats, nominal: scenario.load.nominalDuration) }
        let http = self.http
        let elapsed = await LoadDriver.run(
            scenario.load,
            beforeRound: { _ in
                try? await sim.reset()
                // The reset frees the workers at once, which no fleet server does: give the
                // dispatcher's background refresh (every 150 ms) time to see it, as it would see
                // calls ending one by one, so that a round measures the herd and not the reset.
                try? await Task.sleep(for: Self.afterReset)
            },
            dialout: { intended in
                stats.add { $0.startLag.record(ContinuousClock.now - intended) }
                await picker.dialout(http: http, stats: stats, intendedStart: intended)
            })
        printer.cancel()
        _ = await printer.value
        let healthAfter = try await sim.healthRequestsTotal()
        var picksAfter: (picked: Double, inPipeline: Double)?
        if let dispatcher { picksAfter = try await pickCounters(baseURL: dispatcher.baseURL) }
        let dispatcherAfter = dispatcherPID.flatMap { ProcessStats.read(pid: $0) }
        let benchAfter = ProcessStats.read(pid: getpid())
        let counts = stats.snapshot
        let seconds = elapsed.seconds
        let healthRequests = Double(healthAfter - healthBefore)
        var result = SideResult(
            picker: side, recorder: counts.picks, startLag: counts.startLag.summary, measuredSeconds: seconds,
            dialoutsAttempted: counts.dialoutsAttempted, dialoutsPlaced: counts.dialoutsPlaced,
            rejected429: counts.rejected429, failedAttempts: counts.failedAttempts, noCapacity: counts.noCapacity, errors: counts.errors,
            gaveUp: counts.gaveUp,
            unfinished: counts.unfinished + max(0, (scenario.load.plannedDialouts ?? 0) - counts.dialoutsAttempted),
            errorSamples: counts.errorSamples,
            healthRequestsPerSecond: seconds > 0 ? healthRequests / seconds : 0,
            healthRequestsPerPick: counts.picks.count > 0 ? healthRequests / Double(counts.picks.count) : 0,
            benchCPUSeconds: (benchAfter?.cpuSeconds ?? 0) - (benchBefore?.cpuSeconds ?? 0),
            warmUpSeconds: warmUp.seconds)
        if let picksBefore, let picksAfter, picksAfter.picked > picksBefore.picked {
            result.answeredWithoutWaitingShare = (picksAfter.inPipeline - picksBefore.inPipeline) / (picksAfter.picked - picksBefore.picked)
        }
        if let dispatcherBefore, let dispatcherAfter {
            result.dispatcherCPUSeconds = dispatcherAfter.cpuSeconds - dispatcherBefore.cpuSeconds
            result.dispatcherRSSStartMiB = Double(dispatcherBefore.rssKiB) / 1024
            result.dispatcherRSSEndMiB = Double(dispatcherAfter.rssKiB) / 1024
            result.dispatcherPeakRSSMiB = Double(dispatcherAfter.peakRSSKiB) / 1024
        }
        return result
    }
}

extension ScenarioRunner {
    /// How long a burst round waits after the sim's reset: more than a refresh period of the
    /// dispatcher's defaults (150 ms, +20 % jitter).
    static let afterReset: Duration = .milliseconds(300)

    /// The dispatcher's picked picks and those of them answered in its HTTP pipeline (without
    /// waiting for a probe), from its `/metrics`.
    func pickCounters(baseURL: String) async throws -> (picked: Double, inPipeline: Double) {
        let text = String(buffer: try await http.send(.GET, baseURL + "/metrics").body)
        func value(_ prefix: String) -> Double {
            text.split(separator: "\n").first { $0.hasPrefix(prefix) }
                .flatMap { $0.split(separator: " ").last }.flatMap { Double($0) } ?? 0
        }
        return (value(#"voxbridge_picks_total{outcome="picked"} "#), value("voxbridge_picks_answered_in_pipeline_total "))
    }
}

/// The sim's control port.
struct SimControl: Sendable {
    let http: LoopbackHTTP
    let baseURL: String

    func reset() async throws {
        let answer = try await http.send(.POST, baseURL + "/control/reset")
        guard answer.status == 200 else { throw ChildProcess.StartError(description: "sim reset answered \(answer.status)") }
    }

    /// Health requests the whole sim has received since it started (never reset).
    func healthRequestsTotal() async throws -> Int {
        let answer = try await http.send(.GET, baseURL + "/control/stats")
        guard let stats = try? JSONDecoder().decode(SimStats.self, from: Data(answer.body.readableBytesView)) else {
            throw ChildProcess.StartError(description: "sim stats unreadable")
        }
        return stats.healthRequestsTotal
    }
}
