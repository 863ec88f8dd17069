import ArgumentParser
import DispatchTestSupport
import Foundation
import LoadKit

/// `voxbridge-bench`: load scenarios against a release-built dispatcher and the simulated fleet,
/// each also run by a naive picker for a side-by-side comparison.
@main
struct VoxbridgeBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "voxbridge-bench",
        abstract: "Load scenarios for voxbridge-dispatch, side by side with a naive picker.",
        discussion: "Scenarios: \(Scenario.all.map(\.name).joined(separator: ", ")), or all. See docs/BENCHMARKS.md.")

    @Option(help: "The scenario to run, or all.")
    var scenario = "steady"

    @Flag(help: "Print, as the last line, one JSON object {\"scenario\", \"ours\", \"naive\"} (one line per scenario with all).")
    var json = false

    @Option(help: "Write each side's percentile distribution (HdrHistogram .hgrm, milliseconds) to FILE-ours / FILE-naive.")
    var hgrm: String?

    @Option(help: "Which picker to run: ours, naive or both.")
    var side = "both"

    @Option(help: "Override the scenario's measuring time, seconds (open and closed loops).")
    var duration: Double?

    @Option(help: "Override the scenario's arrival rate, dialouts/s (open loop).")
    var rate: Double?

    @Option(help: "Run a closed loop of N concurrent callers instead of the scenario's load.")
    var callers: Int?

    @Option(help: "Hold N GET /v1/fleet/events streams open against the dispatcher while it is measured (operator pages).")
    var eventStreams = 0

    @Option(help: "The voxbridge-dispatch executable (default: next to this one, built if missing).")
    var dispatcher: String?

    @Option(help: "The voxcore-sim executable (default: next to this one, built if missing).")
    var sim: String?

    @Option(help: "Write the Markdown section \"## Load scenarios (make bench)\" into this file.")
    var writeDoc: String?

    @Option(help: "Run a cluster scenario instead: \(ClusterBench.scenarios.joined(separator: ", ")), or all (needs --store).")
    var cluster: String?

    @Option(help: "The PostgreSQL database the cluster scenarios' instances share, postgres://USER@HOST:PORT/DB.")
    var store: String?

    @Flag(help: "Run the demo instead: a sim of 3 servers, the dispatcher, a few picks and GET /v1/fleet.")
    var demo = false

    @Flag(name: .customLong("rolling-restart"), help: "Run the rolling restart instead: every server restarted in turn, the runbook's way and with fleet drain --wait, side by side.")
    var rollingRestart = false

    @Flag(help: "List the scenarios and exit.")
    var list = false

    func run() async throws {
        let progress = ProgressPrinter()
        if list {
            for scenario in Scenario.all { print("\(scenario.name): \(scenario.summary); \(scenario.load)") }
            return
        }
        guard let sides = ScenarioRunner.Side(rawValue: side) else { throw ValidationError("--side: ours, naive or both") }
        let chosen: [Scenario]
        if scenario == "all" {
            chosen = Scenario.all
        } else if let one = Scenario.named(scenario) {
            chosen = [one]
        } else {
            throw ValidationError("unknown scenario \(scenario); one of \(Scenario.all.map(\.name).joined(separator: ", ")), all")
        }
        let binaries = try Binaries.locate(dispatcher: dispatcher, sim: sim, progress: progress)
        let http = LoopbackHTTP()
        if let cluster {
            defer { Task { await http.shutdown() } }
            try await runCluster(cluster, binaries: binaries, http: http, progress: progress)
            return
        }
        if rollingRestart {
            do {
                let ways = try await RollingRestart(binaries: binaries, http: http, progress: progress).run()
                let section = RollingRestart.markdown(ways, machine: Report.machineDescription())
                print(section)
                if let writeDoc { try Report.writeSection(section, into: writeDoc, heading: "## Rolling restart (make bench)") }
            } catch {
                await http.shutdown()
                throw error
            }
            await http.shutdown()
            return
        }
        if demo {
            do { try await Demo(binaries: binaries, http: http).run() } catch {
                await http.shutdown()
                throw error
            }
            await http.shutdown()
            return
        }

        let started = ContinuousClock.now
        var results: [ScenarioResult] = []
        var failures: [String] = []
        for var scenario in chosen {
            scenario.load = adjusted(scenario.load)
            progress.note("== \(scenario.name): \(scenario.summary); \(scenario.load)")
            do {
                var runner = ScenarioRunner(scenario: scenario, binaries: binaries, http: http, sides: sides, progress: progress)
                runner.eventStreams = eventStreams
                let result = try await runner.run()
                results.append(result)
                print(Report.text(result))
                try writeHistograms(result)
                if json { print(jsonLine(result)) }
            } catch {
                failures.append("\(scenario.name): \(error)")
                progress.note("scenario \(scenario.name) failed: \(error)")
            }
        }
        await http.shutdown()
        let total = (ContinuousClock.now - started).seconds
        if let writeDoc, !results.isEmpty {
            let command = "voxbridge-bench " + CommandLine.arguments.dropFirst().joined(separator: " ")
            try Report.writeSection(
                Report.markdown(results, machine: Report.machineDescription(), command: command, totalSeconds: total),
                into: writeDoc)
            progress.note("wrote the load scenario tables into \(writeDoc)")
        }
        progress.note(String(format: "done in %.0f s", total))
        if !failures.isEmpty {
            progress.note("failed: " + failures.joined(separator: "; "))
            throw ExitCode.failure
        }
    }

    /// Runs the cluster scenario `name` (or all), printing each report; `--write-doc` puts them
    /// in the section "## Cluster scenarios (make bench-cluster)".
    private func runCluster(_ name: String, binaries: Binaries, http: LoopbackHTTP, progress: ProgressPrinter) async throws {
        let names = name == "all" ? ClusterBench.scenarios : [name]
        guard names.allSatisfy({ ClusterBench.scenarios.contains($0) || $0 == "nemesis" }) else {
            throw ValidationError("unknown cluster scenario \(name); one of \(ClusterBench.scenarios.joined(separator: ", ")), all, nemesis")
        }
        // The nemesis runs a PostgreSQL of its own, which it stops and starts: as root.
        if names == ["nemesis"] {
            guard PrivatePostgresServer.canRun else {
                throw ValidationError("the nemesis starts, stops and restarts a PostgreSQL of its own: run it as root with Debian's postgresql installed (make nemesis)")
            }
        } else if store == nil {
            throw ValidationError("--cluster needs --store postgres://USER@HOST:PORT/DB (make bench-cluster starts one)")
        }
        var bench = ClusterBench(binaries: binaries, http: http, store: store ?? "", progress: progress)
        bench.duration = duration
        bench.rate = rate
        bench.seed = ProcessInfo.processInfo.environment["SEED"].flatMap { UInt64($0) }
        var reports: [String] = []
        for scenario in names {
            progress.note("== \(scenario)")
            let report = try await bench.run(scenario)
            print(report + "\n")
            reports.append(report)
            if scenario == "nemesis", !report.contains("targets held") { throw ExitCode.failure }
            // The lease and the membership rows of the stopped instances lapse meanwhile.
            try await Task.sleep(for: .seconds(1))
        }
        if let writeDoc {
            let command = "voxbridge-bench " + CommandLine.arguments.dropFirst().joined(separator: " ")
            let section = """
                ## Cluster scenarios (make bench-cluster)

                \(Report.machineDescription()). Reproduce: `make bench-cluster` (runs `\(command)` against a private PostgreSQL).

                \(reports.joined(separator: "\n\n"))
                """
            try Report.writeSection(section, into: writeDoc, heading: "## Cluster scenarios (make bench-cluster)")
            progress.note("wrote the cluster scenario tables into \(writeDoc)")
        }
    }

    private func adjusted(_ load: LoadShape) -> LoadShape {
        var result = load
        if let callers {
            result = .closed(callers: callers, duration: .seconds(duration ?? load.nominalDuration.seconds))
        } else if case .open(let baseRate, let baseDuration) = load {
            result = .open(ratePerSecond: rate ?? baseRate, duration: duration.map { Duration.milliseconds(Int($0 * 1000)) } ?? baseDuration)
        } else if case .idle = load, let duration {
            result = .idle(duration: .milliseconds(Int(duration * 1000)))
        }
        return result
    }

    private func jsonLine(_ result: ScenarioResult) -> String {
        var object: [String: Any] = ["scenario": result.scenario.name]
        if let ours = result.ours { object["ours"] = ours.json }
        if let naive = result.naive { object["naive"] = naive.json }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    private func writeHistograms(_ result: ScenarioResult) throws {
        guard let hgrm else { return }
        let url = URL(fileURLWithPath: hgrm)
        let stem = url.deletingPathExtension().path
        let suffix = url.pathExtension.isEmpty ? "" : "." + url.pathExtension
        for side in result.sides {
            let name = (scenario == "all" ? "\(stem)-\(result.scenario.name)" : stem) + "-\(side.picker)\(suffix)"
            try side.recorder.percentileDistribution().write(toFile: name, atomically: true, encoding: .utf8)
        }
    }
}
