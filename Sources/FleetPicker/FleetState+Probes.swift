extension FleetState {
    /// Says which probes a pick arriving at `arrivedAt` needs before it can decide, and marks
    /// the new ones as in flight from `now`.
    ///
    /// A server needs nothing when a probe that started at or after `arrivedAt − freshness` has
    /// answered (well or not: a fresh failure is an answer, and the pick passes the server over).
    /// Otherwise, when such a probe is under way the pick joins it (single flight), and else a new
    /// probe is planned. Excluded and down servers are left out: picks never wait for them.
    public mutating func planProbes(
        excluding: Set<String> = [],
        arrivedAt: Instant,
        now: Instant
    ) -> ProbePlan<Instant> {
        let threshold = moment(arrivedAt) - configuration.freshness
        let start = moment(now)
        var plan = ProbePlan<Instant>()
        // The common case, every reading fresh, is a read-only pass over the plain figures.
        if !needsProbes(excluding: excluding, arrivedAt: arrivedAt) { return plan }
        for position in servers.indices {
            guard figures[position].mayBeWaitedFor, !figures[position].hasAnswer(since: threshold) else { continue }
            let url = servers[position].url
            if !excluding.isEmpty, excluding.contains(url) { continue }
            if servers[position].hasProbeInFlight(since: threshold) {
                plan.join.append(url)
            } else {
                servers[position].probesInFlight.append(start)
                plan.probe.append(url)
                plan.startedAt = now
            }
        }
        return plan
    }

    /// Whether a pick arriving at `arrivedAt` must wait for probes before it can decide: some
    /// server it could choose (not down, not excluded) has no answer fresh enough. When this is
    /// `false`, ``planProbes(excluding:arrivedAt:now:)`` plans nothing and the pick decides at once.
    ///
    /// Read-only, so a caller that cannot wait may ask first and leave the probing to a pick
    /// that can.
    public func needsProbes(excluding: Set<String> = [], arrivedAt: Instant) -> Bool {
        // Without an origin no probe has ever answered (every `answeredAt` is nil), so any
        // threshold gives the same answer; `moment(_:)` would set the origin, and this only reads.
        let arrival = origin.map { Moment($0.duration(to: arrivedAt)) } ?? .zero
        let threshold = arrival - configuration.freshness
        for position in figures.indices where figures[position].mayBeWaitedFor && !figures[position].hasAnswer(since: threshold) {
            if excluding.isEmpty || !excluding.contains(servers[position].url) { return true }
        }
        return false
    }

    /// Says which servers are due for a background probe at `now`, marks those probes as in
    /// flight, and says when the next one falls due.
    ///
    /// Two schedules share this one pass:
    /// - A down server is probed every `downInterval × (0.9 + 0.2·u)`, `u` uniform in [0, 1),
    ///   the first time counted from when it went down. The ±10 % jitter keeps servers that went
    ///   down together (a network blip) from being probed in lockstep forever.
    /// - Every other server is refreshed ahead of the picks, when ``FleetPickerConfiguration/refreshInterval``
    ///   is set: at the time ``recordProbe(server:startedAt:finishedAt:result:)`` scheduled from
    ///   its last probe, or at once when none is scheduled (a server just listed).
    ///
    /// A server with a probe under way is never probed twice (single flight): a down server is
    /// skipped for a period, and any other is left out of `nextDue` until its answer schedules
    /// the next refresh (the caller is told through ``backgroundDue(of:)``).
    public mutating func backgroundProbes<R: RandomNumberGenerator>(now: Instant, random: inout R) -> BackgroundProbePlan<Instant> {
        let now = moment(now)
        let refreshing = configuration.refreshInterval != nil
        var probe: [String] = []
        var nextDue: Moment?
        for position in servers.indices {
            let idle = servers[position].probesInFlight.isEmpty
            var due: Moment
            if servers[position].onSlowSchedule {
                let since = servers[position].downSince ?? servers[position].maintenanceSince ?? now
                due = servers[position].nextBackgroundProbe ?? since + jittered(configuration.downInterval, &random)
                if due <= now {
                    if idle {
                        servers[position].probesInFlight.append(now)
                        probe.append(servers[position].url)
                    }
                    due = now + jittered(configuration.downInterval, &random)
                }
                servers[position].nextBackgroundProbe = due
            } else {
                guard let scheduled = servers[position].nextRefresh ?? (refreshing ? now : nil) else { continue }
                guard scheduled <= now else {
                    due = scheduled
                    if nextDue.map({ due < $0 }) ?? true { nextDue = due }
                    continue
                }
                // Due; the answer schedules the next one, so nothing is due until then.
                if idle {
                    servers[position].probesInFlight.append(now)
                    servers[position].nextRefresh = nil
                    probe.append(servers[position].url)
                }
                continue
            }
            if nextDue.map({ due < $0 }) ?? true { nextDue = due }
        }
        return BackgroundProbePlan(probe: probe, startedAt: instant(at: now), nextDue: nextDue.map(instant(at:)))
    }

    /// When `server` is next due for a background probe, as ``backgroundProbes(now:random:)``
    /// will see it; `nil` when it is not listed, has a probe under way, or has no schedule.
    ///
    /// The coordinator asks after each probe and each list change, and wakes its background
    /// loop when the answer is earlier than the loop's own wake-up.
    public func backgroundDue(of server: String, now: Instant) -> Instant? {
        guard let position = positions[server], servers[position].probesInFlight.isEmpty else { return nil }
        let record = servers[position]
        if record.onSlowSchedule { return record.nextBackgroundProbe.map(instant(at:)) }
        if let due = record.nextRefresh { return instant(at: due) }
        return configuration.refreshInterval != nil ? now : nil
    }

    /// Applies a probe's result and says whether the server changed state.
    ///
    /// A result older than one already applied only ends its flight: it would move freshness and
    /// the hysteresis counters backwards. Otherwise:
    /// - good: failures reset, successes counted, the reading stored, reservations made at least
    ///   `reservationSettle` before the probe started settled; `unknown` and `draining` move by the
    ///   reported status at once, `down` only after `rise` good probes in a row, `up` to `draining`
    ///   when the status is not `"ok"`.
    /// - failed: successes reset, failures counted; `fall` in a row take the server down. Short of
    ///   that the state stays, but the failure blocks the reading from serving picks.
    /// - Parameters:
    ///   - server: The list entry; a server no longer listed is ignored.
    ///   - startedAt: The start the plan recorded for this probe.
    ///   - finishedAt: Now; latency is measured up to here and expired reservations are pruned.
    ///   - result: What the probe found.
    @discardableResult
    public mutating func recordProbe(
        server: String,
        startedAt: Instant,
        finishedAt: Instant,
        result: ProbeResult
    ) -> StateChange? {
        let startedAt = moment(startedAt)
        let finishedAt = moment(finishedAt)
        pruneReservations(now: finishedAt)
        guard let position = positions[server] else { return nil }
        if let index = servers[position].probesInFlight.firstIndex(of: startedAt) {
            servers[position].probesInFlight.remove(at: index)
        }
        if case .abandoned = result { return nil }
        if let last = servers[position].lastProbeStart, startedAt < last { return nil }

        let before = servers[position].state
        servers[position].lastProbeStart = startedAt
        servers[position].lastLatency = finishedAt - startedAt
        var after = before
        var reason: String?
        switch result {
        case .healthy(let reading):
            servers[position].reading = reading
            servers[position].lastError = nil
            // A report newer than this probe's start stands: the probe cannot speak for the
            // time after it started, so it clears neither the hold nor the failures a `failed`
            // report counted toward `fall` (with refresh ahead a probe is nearly always under
            // way when a report arrives).
            if !(servers[position].report.map { $0.at > startedAt } ?? false) {
                servers[position].consecutiveFailures = 0
                servers[position].consecutiveSuccesses += 1
            }
            settleReservations(at: position, probeStart: startedAt)
            noteLatency(finishedAt - startedAt, at: position)
            // A report of the dialout's outcome holds until a probe started after it answers.
            if let report = servers[position].report, startedAt >= report.at {
                servers[position].report = nil
            }
            let answering: ServerState = reading.isTakingCalls ? .up : .draining
            switch before {
            case .unknown, .up, .draining:
                after = answering
            case .down:
                if servers[position].consecutiveSuccesses >= configuration.rise { after = answering }
            }
        case .failed(let failure):
            servers[position].lastError = failure
            servers[position].consecutiveSuccesses = 0
            // In maintenance failures are expected: they count toward nothing.
            if servers[position].operatorState != .maintenance { servers[position].consecutiveFailures += 1 }
            if before != .down, servers[position].consecutiveFailures >= configuration.fall {
                after = .down
                reason = failure
            }
        case .abandoned:
            return nil  // handled above, before any figure changes
        }
        if let since = servers[position].slowStartSince, finishedAt - since >= configuration.slowStart {
            servers[position].slowStartSince = nil
        }
        defer {
            refreshFigures(at: position)
            scheduleRefresh(at: position, probeStart: startedAt, finishedAt: finishedAt)
        }
        guard after != before else { return nil }
        setState(after, at: position, reason: reason, now: finishedAt)
        return StateChange(server: server, from: before, to: after, reason: reason)
    }

    /// Moves the server at `position` to `state`, keeping the down bookkeeping with it.
    mutating func setState(_ state: ServerState, at position: Int, reason: String?, now: Moment) {
        let before = servers[position].state
        servers[position].state = state
        // Slow start: a server that becomes pickable again ramps up from a tenth of its free
        // workers; one of the first list, found up, does not.
        if state == .up, before == .down || before == .draining || (before == .unknown && servers[position].joinedLate),
            configuration.slowStart > .zero {
            servers[position].slowStartSince = now
        } else if state != .up {
            servers[position].slowStartSince = nil
        }
        if state == .down {
            servers[position].downReason = reason
            servers[position].downSince = now
            servers[position].nextBackgroundProbe = nil
            servers[position].nextRefresh = nil
            servers[position].refreshPhased = false
        } else if before == .down {
            servers[position].downReason = nil
            servers[position].downSince = nil
            servers[position].nextBackgroundProbe = nil
        }
    }

    /// `interval × (0.9 + 0.2·u)` with `u` uniform in [0, 1).
    func jittered<R: RandomNumberGenerator>(_ interval: Duration, _ random: inout R) -> Duration {
        let unit = Double(random.next() >> 11) * 0x1p-53
        return interval * (0.9 + 0.2 * unit)
    }
}
