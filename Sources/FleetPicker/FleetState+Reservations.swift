extension FleetState {
    /// Drops a reservation because its dialout did not happen (``ReleaseReason/notPlaced``).
    ///
    /// - Returns: `false` when no reservation has that identity (released, settled, expired or
    ///   never made), so the API can answer 404.
    public mutating func release(reservationID: String, now: Instant) -> Bool {
        release(reservationID: reservationID, reason: .notPlaced, now: now) != nil
    }

    /// Drops a reservation because its dialout did not happen, and learns from why.
    ///
    /// - ``ReleaseReason/notPlaced``: nothing else.
    /// - ``ReleaseReason/busy``: the server answered 429, so its reading overstates it. It counts
    ///   as full until a probe started at or after `now` answers well, and it is due for a probe
    ///   at once.
    /// - ``ReleaseReason/failed``: the server answered 5xx or could not be reached. It is passed
    ///   over until a probe started at or after `now` answers well, it is due for a probe at
    ///   once, and the report counts as one failed probe toward `fall`: `fall` reports in a row
    ///   take it down as failed probes would.
    ///
    /// Linear in the reservations alive, which are bounded by the picks of one TTL.
    /// - Returns: `nil` when no reservation has that identity (released, settled, expired or
    ///   never made), so the API can answer 404; else the server, and the state change a
    ///   `failed` report caused.
    public mutating func release(reservationID: String, reason: ReleaseReason, now: Instant) -> ReleaseResult? {
        let now = moment(now)
        pruneReservations(now: now)
        guard let id = ReservationID(text: reservationID) else { return nil }
        for position in servers.indices {
            if let index = servers[position].reservations.firstIndex(where: { $0.id == id }) {
                servers[position].reservations.remove(at: index)
                if reason == .failed, let cap = heldCapReached(sparing: position) {
                    noteReport(at: position, OutcomeReport(reason: reason, at: now, capped: true), now: now)
                    refreshFigures(at: position)
                    return ReleaseResult(server: servers[position].url, capped: cap)
                }
                let change = reason == .notPlaced ? nil : holdBack(position, reason: reason, now: now)
                refreshFigures(at: position)
                return ReleaseResult(server: servers[position].url, change: change)
            }
        }
        return nil
    }

    /// Takes on a reservation another decider made (the cluster's leader, or an instance that
    /// decided alone), so this state counts the call too and a later ``release(reservationID:reason:now:)``
    /// of it here finds it: a takeover then starts from what the old leader had handed out.
    ///
    /// It counts from `now`, the moment it arrived, not from when it was made: a little later,
    /// so it is held a little longer, never shorter. Settled and expired like this state's own.
    /// - Returns: `false` when the server is not on the list, the identity is not one this
    ///   program makes, or the reservation is already known.
    @discardableResult
    public mutating func adoptReservation(id text: String, server: String, origin: String? = nil, now: Instant) -> Bool {
        let now = moment(now)
        pruneReservations(now: now)
        guard let position = positions[server], let id = ReservationID(text: text),
            !servers[position].reservations.contains(where: { $0.id == id })
        else { return false }
        add(Reservation(id: id, madeAt: now, origin: origin), at: position)
        return true
    }

    /// Applies a release a cluster member sent: only of a reservation that member made (it
    /// arrived here from it), unless the member leads, since a leader applies every caller's
    /// release, also of reservations an earlier leader made. Anything else is refused and left
    /// as it is, so a member cannot free the calls of another.
    /// - Parameters:
    ///   - member: the sending member's URL.
    ///   - memberLeads: whether that member holds the lease as this instance last read it.
    public mutating func release(
        reservationID: String, reason: ReleaseReason, from member: String, memberLeads: Bool, now: Instant
    ) -> MemberReleaseOutcome {
        guard let id = ReservationID(text: reservationID) else { return .unknown }
        for position in servers.indices {
            if let reservation = servers[position].reservations.first(where: { $0.id == id }) {
                guard memberLeads || reservation.origin == member else { return .notTheirs }
                return release(reservationID: reservationID, reason: reason, now: now).map(MemberReleaseOutcome.released) ?? .unknown
            }
        }
        return .unknown
    }

    /// How far back a snapshot counts `busy` and `failed` reports.
    public static var reportWindow: Duration { .seconds(60) }

    /// The most reports kept per server for the counts; a server reported more often than this
    /// in a minute shows this many (the hold does not depend on them).
    static var recentReportLimit: Int { 256 }

    /// Applies a `busy` or `failed` report to the server at `position` (see
    /// ``release(reservationID:reason:now:)``).
    private mutating func holdBack(_ position: Int, reason: ReleaseReason, now: Moment) -> StateChange? {
        let strongest = servers[position].report?.reason == .failed ? ReleaseReason.failed : reason
        servers[position].report = OutcomeReport(reason: strongest, at: now)
        noteReport(at: position, OutcomeReport(reason: reason, at: now), now: now)

        // Probe at once: the hold lifts only with a probe started after the report.
        let before = servers[position].state
        if before == .down {
            servers[position].nextBackgroundProbe = now
        } else {
            servers[position].nextRefresh = now
        }
        guard reason == .failed else { return nil }
        servers[position].consecutiveSuccesses = 0
        servers[position].consecutiveFailures += 1
        guard before != .down, servers[position].consecutiveFailures >= configuration.fall else { return nil }
        let why = ServerRecord.reportedDownReason
        setState(.down, at: position, reason: why, now: now)
        servers[position].nextBackgroundProbe = now
        return StateChange(server: servers[position].url, from: before, to: .down, reason: why)
    }

    /// Counts a report for operators (``ServerSnapshot/busyReports`` and the like).
    private mutating func noteReport(at position: Int, _ report: OutcomeReport, now: Moment) {
        pruneReports(at: position, now: now)
        if servers[position].recentReports.count >= Self.recentReportLimit {
            servers[position].recentReports.removeFirst()
        }
        servers[position].recentReports.append(report)
    }

    /// Whether a `failed` report on the server at `position`, which callers' reports do not hold
    /// yet, would pass the cap: callers' reports already hold back or took down
    /// `max(1, floor(healthy × maxHeldPercent / 100))` of the servers the probes call healthy.
    /// Probes' own verdicts are never capped, and a server already held takes more reports.
    /// - Returns: The cap, when it is reached (and notes the first refusal since it had room).
    private mutating func heldCapReached(sparing position: Int) -> HeldCap? {
        guard !servers[position].heldByCallers else { return nil }
        var healthy = 0
        var held = 0
        for record in servers {
            if record.healthyByProbes { healthy += 1 }
            if record.heldByCallers { held += 1 }
        }
        let limit = max(1, healthy * configuration.maxHeldPercent / 100)
        guard held >= limit else {
            overHeldCap = false
            return nil
        }
        defer { overHeldCap = true }
        return HeldCap(held: held, limit: limit, healthy: healthy, first: !overHeldCap)
    }

    /// Drops the server's reports older than ``reportWindow``; they are a prefix.
    mutating func pruneReports(at position: Int, now: Moment) {
        let cutoff = now - Self.reportWindow
        let old = servers[position].recentReports.prefix { $0.at <= cutoff }.count
        if old > 0 { servers[position].recentReports.removeFirst(old) }
    }

    /// Ends every reservation at least `reservationTTL` old at `now`, and forgets reports older
    /// than ``reportWindow``, so that a snapshot taken after a quiet spell shows only live ones.
    public mutating func expireReservations(now: Instant) {
        let now = moment(now)
        pruneReservations(now: now)
        for position in servers.indices where !servers[position].recentReports.isEmpty {
            pruneReports(at: position, now: now)
        }
    }

    /// Ends every reservation at least `reservationTTL` old. Called by every mutation that is
    /// told the time, so memory stays bounded by the picks of one TTL; cheap until the oldest
    /// reservation's expiry is due, and then linear in the servers, not the reservations:
    /// each server's reservations are kept in the order they were made (``reserve(at:now:random:)``
    /// appends with the decision's time), so the expired ones are a prefix and the next expiry is
    /// the first one left.
    mutating func pruneReservations(now: Moment) {
        guard let due = nextExpiry, due <= now else { return }
        let ttl = configuration.reservationTTL
        let cutoff = now - ttl
        var earliest: Moment?
        for position in servers.indices where !servers[position].reservations.isEmpty {
            let expired = servers[position].reservations.prefix { $0.madeAt <= cutoff }.count
            if expired > 0 {
                servers[position].reservations.removeFirst(expired)
                refreshFigures(at: position)
            }
            if let first = servers[position].reservations.first {
                let expiry = first.madeAt + ttl
                if earliest.map({ expiry < $0 }) ?? true { earliest = expiry }
            }
        }
        nextExpiry = earliest
    }

    /// Ends the reservations of the server at `position` that a report from a probe started at
    /// `probeStart` includes: those made at least `reservationSettle` before that start.
    mutating func settleReservations(at position: Int, probeStart: Moment) {
        guard !servers[position].reservations.isEmpty else { return }
        let cutoff = probeStart - configuration.reservationSettle
        servers[position].reservations.removeAll { $0.madeAt <= cutoff }
        refreshFigures(at: position)
    }

    /// Makes a reservation on the server at `position`.
    mutating func reserve<R: RandomNumberGenerator>(at position: Int, now: Moment, random: inout R) -> ReservationID {
        reservationCounter &+= 1
        let id = ReservationID(random: random.next(), counter: reservationCounter)
        add(Reservation(id: id, madeAt: now), at: position)
        return id
    }

    /// Appends a reservation made at the latest moment this state was told, so each server's
    /// reservations stay in the order of their `madeAt`.
    private mutating func add(_ reservation: Reservation, at position: Int) {
        servers[position].reservations.append(reservation)
        figures[position].reserved += 1
        let expiry = reservation.madeAt + configuration.reservationTTL
        if nextExpiry.map({ expiry < $0 }) ?? true { nextExpiry = expiry }
    }
}
