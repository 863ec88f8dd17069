// Micro-benchmark of one pick decision on the pure core (FleetState), release build only:
//   swift run -c release PickerBench
// Every server has a fresh reading, so each pick is the hot path the coordinator takes on a
// dialout: plan (nothing to probe), decide, reserve. Each pick's reservation is released right
// after, so the state stays steady over millions of iterations; the figure covers both.

import FleetPicker

/// Times `iterations` pick + release pairs on `serverCount` servers; returns nanoseconds per pair.
func nanosecondsPerPick(serverCount: Int, iterations: Int) -> Double {
    let clock = ContinuousClock()
    let start = clock.now
    var fleet = FleetState<ContinuousClock.Instant>(configuration: .init(freshness: .seconds(3600)))
    let urls = (0..<serverCount).map { "https://fleet-\($0).example.com" }
    fleet.setServers(urls)
    for (index, url) in urls.enumerated() {
        // Uneven figures with a few ties, like a real fleet.
        let reading = ServerReading(workers: 16_000, activeCalls: 0, available: 8_000 + index % 7)
        fleet.recordProbe(server: url, startedAt: start, finishedAt: start, result: .healthy(reading))
    }
    var random = FleetRandomSource(seed: 42)
    var checksum = 0
    var now = start
    let step = Duration.nanoseconds(1)

    let elapsed = clock.measure {
        for _ in 0..<iterations {
            now = now.advanced(by: step)
            let plan = fleet.planProbes(arrivedAt: now, now: now)
            precondition(plan.isEmpty)
            guard case .picked(let pick) = fleet.pick(arrivedAt: now, now: now, random: &random) else {
                fatalError("no capacity in the benchmark fleet")
            }
            checksum &+= pick.available
            guard fleet.release(reservationID: pick.reservationID, now: now) else {
                fatalError("release failed")
            }
        }
    }
    precondition(checksum != 0)
    let (seconds, attoseconds) = elapsed.components
    let nanoseconds = Double(seconds) * 1e9 + Double(attoseconds) / 1e9
    return nanoseconds / Double(iterations)
}

for (serverCount, iterations) in [(16, 2_000_000), (256, 200_000)] {
    _ = nanosecondsPerPick(serverCount: serverCount, iterations: iterations / 10)  // warm up
    let runs = (0..<5).map { _ in nanosecondsPerPick(serverCount: serverCount, iterations: iterations) }.sorted()
    let median = runs[runs.count / 2]
    let best = runs[0]
    print("servers=\(serverCount) iterations=\(iterations) runs=5 median_ns_per_pick=\(Int(median.rounded())) best_ns_per_pick=\(Int(best.rounded()))")
}
