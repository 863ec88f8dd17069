import HealthProber

/// The picker the dispatcher is measured against, run inside the bench: on every dialout it
/// probes every (not excluded) server concurrently with the same timeout as the dispatcher, and
/// takes the one reporting the most available workers (ties at random).
///
/// No reservations (so nothing to release), no hysteresis (a failing server is skipped only
/// while its probe fails), and no reuse of readings between picks. Its probes go through the
/// same libcurl prober the dispatcher uses, with kept-alive connections, so the comparison is of
/// the policy, not of the HTTP client.
struct NaivePicker: Picker {
    let prober: HealthProber
    let servers: [String]

    /// The server with the most available workers, not in `exclude`; `nil` when none can take a call.
    func pick(exclude: [String]) async -> String? {
        let candidates = servers.filter { !exclude.contains($0) }
        guard !candidates.isEmpty else { return nil }
        let outcomes = await prober.probe(candidates)
        var best: [String] = []
        var bestAvailable = 0
        for (server, outcome) in zip(candidates, outcomes) {
            guard case .success(let report) = outcome, report.isAcceptingCalls, report.available > 0 else { continue }
            if report.available > bestAvailable {
                best = [server]
                bestAvailable = report.available
            } else if report.available == bestAvailable {
                best.append(server)
            }
        }
        return best.randomElement()
    }

    /// The same protocol as the dispatcher's client runs, without releases.
    func dialout(http: LoopbackHTTP, stats: SideStats, intendedStart: ContinuousClock.Instant) async {
        stats.add { $0.dialoutsAttempted += 1 }
        var exclude: [String] = []
        for attempt in 0..<3 {
            let started = attempt == 0 ? intendedStart : ContinuousClock.now
            let server = await pick(exclude: exclude)
            stats.recordPick(ContinuousClock.now - started)
            if Task.isCancelled {
                stats.add { $0.unfinished += 1 }
                return
            }
            guard let server else {
                stats.add { $0.noCapacity += 1 }
                return
            }
            switch await SimDialout.place(on: server, http: http, stats: stats) {
            case .placed:
                return
            case .busy, .failed:
                exclude.append(server)
            case .cancelled:
                stats.add { $0.unfinished += 1 }
                return
            case .unexpected(let status):
                stats.error("dialout: HTTP \(status)")
                return
            }
        }
        stats.add { $0.gaveUp += 1 }
    }
}
