import FleetPicker

/// A pick decided here: what was decided and how long deciding took.
struct PickDecision: Sendable {
    /// The pick's outcome.
    var outcome: PickOutcome
    /// From the pick's arrival at the sequence to its decision.
    var elapsed: Duration
}

extension FleetRuntime {
    /// The pick sequence both the route and the fast path run: follow the list, pick, commit
    /// under the lease term `fencing` (in a cluster), count. Waits for probes where readings
    /// are stale.
    /// - Returns: `nil` when the lease ended while deciding: the reservation is undone and the
    ///   request must be routed again.
    func pick(excluding excluded: Set<String>, fencing: Int64?) async -> PickDecision? {
        let start = begin()
        return finish(await fleet.pick(excluding: excluded), fencing: fencing, since: start)
    }

    /// The same sequence without waiting, for the fast path: `nil` also when a reading is stale
    /// or no server was picked (the route answers those).
    func pickNow(excluding excluded: Set<String>, fencing: Int64?) -> PickDecision? {
        let start = begin()
        guard let outcome = fleet.pickWithoutWaiting(excluding: excluded), case .picked = outcome else { return nil }
        return finish(outcome, fencing: fencing, since: start)
    }

    private func begin() -> ContinuousClock.Instant {
        let start = ContinuousClock.now
        follower.refresh()
        return start
    }

    private func finish(_ outcome: PickOutcome, fencing: Int64?, since start: ContinuousClock.Instant) -> PickDecision? {
        if let cluster, !cluster.commit(outcome, fencing: fencing, on: fleet) { return nil }
        let elapsed = ContinuousClock.now - start
        metrics.recordPick(outcome, duration: elapsed)
        return PickDecision(outcome: outcome, elapsed: elapsed)
    }
}
