extension FleetState {
    /// Schedules the next refresh-ahead probe of the server at `position` after a probe that
    /// started at `probeStart` was applied at `finishedAt`.
    ///
    /// - A down server is left to the down schedule (``backgroundProbes(now:random:)``).
    /// - A report (`busy`, `failed`) newer than this probe's start asks for a probe at once: the
    ///   hold lifts only with a probe started after it.
    /// - Otherwise, with refresh on, the next probe starts ``refreshGap(latencyEstimate:random:first:)``
    ///   after this one started.
    mutating func scheduleRefresh(at position: Int, probeStart: Moment, finishedAt: Moment) {
        guard !servers[position].onSlowSchedule else { return }
        if let report = servers[position].report, report.at > probeStart {
            servers[position].nextRefresh = finishedAt
            return
        }
        guard configuration.refreshInterval != nil else {
            servers[position].nextRefresh = nil
            return
        }
        let first = !servers[position].refreshPhased
        servers[position].refreshPhased = true
        let gap = refreshGap(latencyEstimate: servers[position].latencyEstimate, random: &scheduleRandom, first: first)
        servers[position].nextRefresh = probeStart + gap
    }

    /// The time from one refresh probe's start to the next one's.
    ///
    /// With `P` the refresh interval, `F` the freshness window and `L` the server's latency
    /// estimate, `u` uniform in [0, 1):
    /// - `P × (0.8 + 0.4·u)`: ±20 % jitter around `P`, so the mean, and the probe load, is `P`;
    /// - the first period after a server joins or comes back is `P × (0.2 + u)` instead, a random
    ///   phase over a whole period, so a fleet listed at once (or back from one blip) does not
    ///   probe in lockstep;
    /// - never more than `F − F/10 − L`: the next answer must arrive before the current reading
    ///   goes stale (a pick would wait otherwise), with a tenth of the window to spare for
    ///   scheduling delay and a slower answer. When that is zero or less (a fleet slower than the
    ///   window allows), probes run back to back: single flight still holds, and picks wait
    ///   only for what the schedule cannot cover.
    func refreshGap<R: RandomNumberGenerator>(latencyEstimate: Duration?, random: inout R, first: Bool) -> Duration {
        guard let interval = configuration.refreshInterval else { return .zero }
        let unit = Double(random.next() >> 11) * 0x1p-53
        var gap = interval * (first ? 0.2 + unit : 0.8 + 0.4 * unit)
        let freshness = configuration.freshness
        if freshness > .zero {
            let deadline = freshness - freshness / 10 - (latencyEstimate ?? .zero)
            gap = min(gap, max(.zero, deadline))
        }
        return gap
    }

    /// Folds a good probe's latency into the server's estimate: a slower answer raises it at
    /// once (the schedule must cover it from the next probe on), a faster one lowers it by an
    /// eighth of the difference (one quick answer does not mean the next is quick: the estimate
    /// stays near the recent slow ones).
    mutating func noteLatency(_ latency: Duration, at position: Int) {
        guard let estimate = servers[position].latencyEstimate, latency < estimate else {
            servers[position].latencyEstimate = latency
            return
        }
        servers[position].latencyEstimate = estimate - (estimate - latency) / 8
    }
}
