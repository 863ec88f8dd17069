import LoadKit

/// One picker's figures from one scenario run: what the table, the JSON line and the doc show.
struct SideResult: Sendable {
    var picker: String
    var recorder: LatencyRecorder
    /// How late the bench started the dialouts against their intended times (included in the
    /// pick latencies): the load generator's share of them, its back-pressure wait included.
    var startLag: LatencySummary
    var measuredSeconds: Double
    var dialoutsAttempted: Int
    var dialoutsPlaced: Int
    var rejected429: Int
    /// Dialout attempts a fleet server answered 5xx or never answered.
    var failedAttempts: Int
    var noCapacity: Int
    var errors: Int
    var gaveUp: Int
    var unfinished: Int
    var errorSamples: [String]
    var healthRequestsPerSecond: Double
    var healthRequestsPerPick: Double
    /// The bench process's own CPU seconds during the run (for the naive side: its probing).
    var benchCPUSeconds: Double
    /// The dispatcher's CPU seconds during the run (ours only).
    var dispatcherCPUSeconds: Double?
    /// The dispatcher's RSS at the start and end of the run and its peak, MiB (ours only).
    var dispatcherRSSStartMiB: Double?
    var dispatcherRSSEndMiB: Double?
    var dispatcherPeakRSSMiB: Double?
    /// How long the warm-up took (e.g. until the dead server was down).
    var warmUpSeconds: Double
    /// Of the dispatcher's picked picks during the run, the share answered at once in the
    /// HTTP pipeline, without waiting for a probe (from its `/metrics`; ours only).
    var answeredWithoutWaitingShare: Double?

    var latency: LatencySummary { recorder.summary }
    var picks: Int { latency.count }
    var picksPerSecond: Double { measuredSeconds > 0 ? Double(picks) / measuredSeconds : 0 }

    /// The JSON object of this side (the keys `--json` promises, and more).
    var json: [String: Any] {
        var object: [String: Any] = [
            "pick_p50_ms": round3(latency.p50Ms), "pick_p90_ms": round3(latency.p90Ms),
            "pick_p99_ms": round3(latency.p99Ms), "pick_p999_ms": round3(latency.p999Ms),
            "pick_max_ms": round3(latency.maxMs), "picks": picks, "picks_per_s": round3(picksPerSecond),
            "dialouts_attempted": dialoutsAttempted, "dialouts_placed": dialoutsPlaced,
            "rejected_429": rejected429, "failed_attempts": failedAttempts, "no_capacity": noCapacity, "errors": errors, "gave_up": gaveUp, "unfinished": unfinished,
            "health_requests_per_s": round3(healthRequestsPerSecond),
            "health_requests_per_pick": round3(healthRequestsPerPick),
            "bench_cpu_s": round3(benchCPUSeconds), "measured_s": round3(measuredSeconds),
            "warm_up_s": round3(warmUpSeconds),
            "start_lag_p50_ms": round3(startLag.p50Ms), "start_lag_p99_ms": round3(startLag.p99Ms),
        ]
        if let dispatcherCPUSeconds { object["dispatcher_cpu_s"] = round3(dispatcherCPUSeconds) }
        if let dispatcherRSSStartMiB { object["dispatcher_rss_start_mb"] = round3(dispatcherRSSStartMiB) }
        if let dispatcherRSSEndMiB { object["dispatcher_rss_end_mb"] = round3(dispatcherRSSEndMiB) }
        if let dispatcherPeakRSSMiB { object["dispatcher_peak_rss_mb"] = round3(dispatcherPeakRSSMiB) }
        if let answeredWithoutWaitingShare { object["answered_without_waiting_share"] = answeredWithoutWaitingShare }
        if !errorSamples.isEmpty { object["error_samples"] = errorSamples }
        return object
    }
}

/// Both pickers' figures from one scenario run.
struct ScenarioResult: Sendable {
    var scenario: Scenario
    var ours: SideResult?
    var naive: SideResult?
    var sides: [SideResult] { [ours, naive].compactMap { $0 } }
}

func round3(_ value: Double) -> Double {
    (value * 1000).rounded() / 1000
}
