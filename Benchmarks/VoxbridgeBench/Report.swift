import Foundation

/// The tables people read: a plain-text one per scenario on standard output, and the Markdown
/// section `make bench` writes into `docs/BENCHMARKS.md`.
enum Report {
    static let headers = [
        "picker", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms", "picks/s", "dialouts", "placed", "429", "5xx",
        "no cap", "errors", "not done", "health req/s", "no wait %", "start lag p50/p99 ms", "dispatcher CPU s",
        "RSS start→end (peak) MiB",
    ]

    static func row(_ side: SideResult) -> [String] {
        let rss: String
        if let start = side.dispatcherRSSStartMiB, let end = side.dispatcherRSSEndMiB, let peak = side.dispatcherPeakRSSMiB {
            rss = String(format: "%.1f→%.1f (%.1f)", start, end, peak)
        } else {
            rss = "—"
        }
        return [
            side.picker, fixed(side.latency.p50Ms), fixed(side.latency.p90Ms), fixed(side.latency.p99Ms),
            fixed(side.latency.p999Ms), fixed(side.latency.maxMs), String(format: "%.0f", side.picksPerSecond),
            String(side.dialoutsAttempted), String(side.dialoutsPlaced), String(side.rejected429), String(side.failedAttempts),
            String(side.noCapacity), String(side.errors), String(side.unfinished),
            String(format: "%.0f", side.healthRequestsPerSecond),
            side.answeredWithoutWaitingShare.map { String(format: "%.2f", $0 * 100) } ?? "—",
            "\(fixed(side.startLag.p50Ms))/\(fixed(side.startLag.p99Ms))",
            side.dispatcherCPUSeconds.map { String(format: "%.2f", $0) } ?? "—", rss,
        ]
    }

    /// Milliseconds with 3 significant figures at most.
    static func fixed(_ value: Double) -> String {
        switch value {
        case ..<10: String(format: "%.2f", value)
        case ..<100: String(format: "%.1f", value)
        default: String(format: "%.0f", value)
        }
    }

    /// A plain-text table of one scenario.
    static func text(_ result: ScenarioResult) -> String {
        let rows = [headers] + result.sides.map(row)
        let widths = headers.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        var text = "\n\(result.scenario.name): \(result.scenario.summary)\n  load: \(result.scenario.load)\n"
        for (number, row) in rows.enumerated() {
            let cells = row.enumerated().map { column, cell in
                column == 0 ? cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
                    : String(repeating: " ", count: widths[column] - cell.count) + cell
            }
            text += "  " + cells.joined(separator: "  ") + "\n"
            if number == 0 { text += "  " + widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ") + "\n" }
        }
        for side in result.sides where !side.errorSamples.isEmpty {
            text += "  \(side.picker) errors, e.g.: \(side.errorSamples.joined(separator: "; "))\n"
        }
        for side in result.sides where side.unfinished > 0 {
            text += "  \(side.picker): \(side.unfinished) dialouts not done at the time bound (cancelled in flight or never started; their picks so far are in the latencies)\n"
        }
        for side in result.sides where side.warmUpSeconds > 1 {
            text += "  \(side.picker) warm-up (not measured): \(String(format: "%.1f", side.warmUpSeconds)) s\n"
        }
        return text
    }

    /// The Markdown section "## Load scenarios (make bench)".
    static func markdown(_ results: [ScenarioResult], machine: String, command: String, totalSeconds: Double) -> String {
        var text = """
            ## Load scenarios (make bench)

            `make bench` builds the release executables into `.build` (the same build `make run` uses)
            and runs every scenario of
            `voxbridge-bench` (sources in `Benchmarks/VoxbridgeBench`, the simulated fleet `voxcore-sim`
            in `Benchmarks/VoxcoreSim`, shared code in `Benchmarks/LoadKit`). Each scenario starts its
            own `voxcore-sim` and a release-built `voxbridge-dispatch` on free loopback ports, runs the
            dispatcher ("ours") and then the bench's **naive picker** against the same simulated fleet
            (reset in between), and stops both children by PID. The naive picker probes every server
            concurrently on every dialout, with the dispatcher's probe timeout and the same libcurl
            prober, and takes the most available: no reservations, no hysteresis, no reuse of readings.

            Each dialout is what the dialout code does: pick → `POST /livekit/dialout` on the chosen
            server → on 429 release `busy`, on 5xx or no answer release `failed`, and pick again
            excluding it (at most 2 retries). Pick latency is
            measured at the client (the bench): for an open loop from each arrival's *intended* time
            (no coordinated omission), for a burst from the instant all 64 start. "429" counts fleet
            answers 429, "5xx" dialout attempts a failing fleet server refused (503) or never
            answered, "no cap" picks answered no capacity, "errors" anything else (transport errors
            to the dispatcher). "health req/s" is what the simulated fleet received while the side
            ran; "no wait %" the share of the dispatcher's picked picks answered at once in its HTTP
            pipeline, without waiting for a probe (`voxbridge_picks_answered_in_pipeline_total` over
            `voxbridge_picks_total{outcome="picked"}`, from its `/metrics` before and after the run);
            "start lag" how late the bench itself started the dialouts against their intended times:
            its timer, its threads' turn on the shared cores and, in an open loop, the wait for a free
            slot while \(LoadDriver.maxInFlight) dialouts are in flight (as when the naive picker falls
            behind in `steady`); part of every latency column, 0 in a closed loop; dispatcher CPU
            seconds and RSS (`/proc/PID/stat`, `VmRSS`, `VmHWM`) cover the measured run only.

            Measured \(machine).
            Total time of the run: \(Int(totalSeconds.rounded())) s. Command: `\(command)`.

            | scenario | \(headers.joined(separator: " | ")) |
            |\(String(repeating: " --- |", count: headers.count + 1))

            """
        for result in results {
            for side in result.sides {
                text += "| \(side.picker == "ours" ? result.scenario.name : "") | \(row(side).joined(separator: " | ")) |\n"
            }
        }
        text += """

            "not done": dialouts still in flight (or never started) when the run's time bound
            (\(Int(LoadDriver.drainLimit.seconds)) s after the last arrival) cancelled them; the picks they had made
            are in the latencies.

            Scenarios (sim flags in `Benchmarks/VoxbridgeBench/Scenario.swift`):


            """
        for result in results {
            text += "- `\(result.scenario.name)`: \(result.scenario.summary); \(result.scenario.load)."
            if let ours = result.ours, ours.warmUpSeconds > 1 {
                text += " Warm-up before measuring (ours): \(String(format: "%.1f", ours.warmUpSeconds)) s."
            }
            text += "\n"
        }
        text += notes(results)
        text += """

            Reproduce one scenario, with its JSON line last:
            `swift run -c release voxbridge-bench --scenario burst --json` (builds the dispatcher and
            the sim next to it when they are missing). `--duration 60` runs `steady` or `idle` for
            60 s (the probe-load check: health req/s against 8 × 1000 / 150 = 53/s, busy and idle,
            and RSS start→end); `--hgrm FILE` writes each side's percentile distribution
            (`FILE` with `-ours`/`-naive` before the extension) for the HdrHistogram plotter.
            `make demo` starts a sim of 3 servers and the dispatcher, registers the servers through
            the API and shows a few picks and `GET /v1/fleet`.

            """
        return text
    }

    /// What to read into the figures, for the scenarios where it is not obvious.
    static func notes(_ results: [ScenarioResult]) -> String {
        var lines: [String] = []
        for result in results {
            guard let ours = result.ours, let naive = result.naive else { continue }
            switch result.scenario.name {
            case "steady" where naive.picksPerSecond < ours.picksPerSecond * 0.9:
                lines.append(
                    "`steady`: the naive picker needs \(result.scenario.servers) probes per dialout; run inside the bench on the same "
                        + "2 cores as the sim and the dispatcher it fell behind at \(Int(naive.picksPerSecond.rounded())) picks/s, and since "
                        + "latency counts from each arrival's intended time its backlog shows in every percentile. The dispatcher "
                        + "kept the fleet's health load at \(Int(ours.healthRequestsPerSecond.rounded())) requests/s (documented for "
                        + "8 servers at freshness 250 ms: 8 × 1000 / 150 = 53/s, the same idle or busy).")
            case "burst":
                lines.append(
                    "`burst`: with reservations the 64 simultaneous picks spread over the four servers (429s: ours "
                        + "\(ours.rejected429), naive \(naive.rejected429)); the naive picker sends every caller of a round to "
                        + "the server with 20 free.")
            case "dead-server":
                lines.append(
                    "`dead-server`: once the dead server is down (warm-up \(String(format: "%.1f", ours.warmUpSeconds)) s, "
                        + "not measured) the dispatcher's picks no longer wait for it; every naive pick waits for the probe "
                        + "timeout.")
            case "flapping", "flapping-500":
                let turns = Int((ours.measuredSeconds / 3).rounded(.up))
                lines.append(
                    "`\(result.scenario.name)`: the flapping server turned bad about \(turns) times while each side ran; "
                        + "dialouts sent to it while bad: ours \(ours.failedAttempts), naive \(naive.failedAttempts). The dispatcher "
                        + "holds a server back from the first `failed` release until a probe started after it answers well, "
                        + "and refreshes readings ahead of the picks (health req/s ours "
                        + "\(Int(ours.healthRequestsPerSecond.rounded())), naive \(Int(naive.healthRequestsPerSecond.rounded()))).")
            case "slow-fleet":
                lines.append(
                    "`slow-fleet`: every naive pick waits for the slowest of 8 health answers of 20 ms (p50 "
                        + "\(fixed(naive.latency.p50Ms)) ms); the dispatcher's readings are refreshed ahead, so its picks never "
                        + "wait for one (no wait: \(ours.answeredWithoutWaitingShare.map { String(format: "%.2f", $0 * 100) } ?? "?") %).")
            case "idle":
                lines.append(
                    "`idle`: with no dialouts the dispatcher still refreshes every server about every 60 % of "
                        + "`--freshness-ms` (150 ms): 8 × 1000 / 150 = 53 health requests/s documented, "
                        + "\(Int(ours.healthRequestsPerSecond.rounded()))/s measured.")
            case "large-fleet" where naive.picksPerSecond < ours.picksPerSecond * 0.9:
                lines.append(
                    "`large-fleet`: 64 probes per naive pick saturated the 2 cores (probes then time out and the naive "
                        + "picker answers no capacity); the dispatcher probes each server about 6.7 times a second.")
            case "strict":
                lines.append(
                    "`strict`: with `--freshness-ms 0` the dispatcher probes every up server on every pick, like the naive "
                        + "picker (health requests per pick: ours \(String(format: "%.1f", ours.healthRequestsPerPick)), naive "
                        + "\(String(format: "%.1f", naive.healthRequestsPerPick))).")
            default:
                break
            }
        }
        return lines.isEmpty ? "" : "\nNotes on this run:\n\n" + lines.map { "- " + $0 }.joined(separator: "\n") + "\n"
    }

    /// Replaces the section "## Load scenarios (make bench)" of the file at `path` (up to the next
    /// `## ` heading) with `section`, or appends it when the file has none.
    static func writeSection(_ section: String, into path: String, heading: String = "## Load scenarios (make bench)") throws {
        var document = (try? String(contentsOfFile: path, encoding: .utf8)) ?? "# Benchmarks\n"
        if let start = document.range(of: heading) {
            let rest = document[start.upperBound...]
            let end = rest.range(of: "\n## ")?.lowerBound ?? document.endIndex
            let replacement = end == document.endIndex ? section : section + "\n"
            document.replaceSubrange(start.lowerBound..<(end == document.endIndex ? end : document.index(after: end)), with: replacement)
        } else {
            if !document.hasSuffix("\n") { document += "\n" }
            document += "\n" + section
        }
        try document.write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// "on <cpu model>, nproc N, <kernel>, Swift …, at <date>".
    static func machineDescription() -> String {
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let model = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }?
            .split(separator: ":", maxSplits: 1).last?.trimmingCharacters(in: .whitespaces) ?? "unknown CPU"
        let load = ((try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? "?").split(separator: " ").prefix(3).joined(separator: " ")
        var name = utsname()
        uname(&name)
        let release = withUnsafeBytes(of: &name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return "\(formatter.string(from: Date())) on \(model), `nproc` = \(ProcessInfo.processInfo.activeProcessorCount), "
            + "Linux \(release), release builds, load average at the end \(load) (the machine is shared)"
    }
}
