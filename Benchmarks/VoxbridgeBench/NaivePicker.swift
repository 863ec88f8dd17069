import HealthProber

/// The picker the dispatcher is measured against, run inside the bench: on every dialout it
/// probes every (not excluded) server concurrently with the same timeout as the dispatcher, and
/// takes the one reporting the most available workers (ties at random).
///
/// No reservations, no hysteresis (a failing server is skipped only while its probe fails), and
/// no reuse of readings between picks. Its probes go through the same libcurl prober the
/// dispatcher uses, with kept-alive connections, so the comparison is of the policy, not of the
/// HTTP client.
struct NaivePicker: Picker {
    let prober: HealthProber
    let servers: [String]

    func pick(exclude: [String]) async -> PickAnswer {
        let candidates = servers.filter { !exclude.contains($0) }
        guard !candidates.isEmpty else { return .noCapacity }
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
        guard let chosen = best.randomElement() else { return .noCapacity }
        return .picked(server: chosen, reservation: nil)
    }

    func release(_ reservation: String, outcome: DialoutOutcome) async {}
}
