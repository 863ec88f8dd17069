extension FleetState {
    /// Decides a pick: the server with the most effective available workers, at random among
    /// equals, and makes a reservation on it.
    ///
    /// Effective available = reported available − reservations its report cannot include yet.
    /// Excluded, down, draining and full servers never win, nor any whose newest probe failed or
    /// started more than `freshness` before `arrivedAt`. Call ``planProbes(excluding:arrivedAt:now:)``
    /// first and wait for what it asks, or servers without a fresh reading are passed over.
    ///
    /// One pass over the servers by position with no allocation, then a second to find the
    /// randomly chosen one among ties; the reasons per server are worked out only when nobody wins.
    /// - Parameters:
    ///   - excluding: List entries the caller will not use.
    ///   - arrivedAt: When the pick arrived; freshness is measured from here.
    ///   - now: The time of the decision; the reservation is made at this instant.
    ///   - random: Breaks ties and seeds the reservation's identity.
    public mutating func pick<R: RandomNumberGenerator>(
        excluding: Set<String> = [],
        arrivedAt: Instant,
        now: Instant,
        random: inout R
    ) -> PickOutcome {
        let now = moment(now)
        pruneReservations(now: now)
        guard !servers.isEmpty else { return .fleetEmpty }
        let threshold = moment(arrivedAt) - configuration.freshness
        let excluded = excludedPositions(excluding)
        let slowStart = configuration.slowStart

        // The loops read only `figures`: plain values, no reference counting.
        var best = 0
        var ties = 0
        for position in figures.indices {
            guard let effective = figures[position].effectiveAvailable(freshFrom: threshold, now: now, slowStart: slowStart),
                effective >= best, effective > 0
            else { continue }
            if !excluded.isEmpty, excluded.contains(position) { continue }
            if effective > best {
                best = effective
                ties = 1
            } else {
                ties += 1
            }
        }
        guard ties > 0 else {
            return .noCapacity(passedOver(excluded: excluded, threshold: threshold, now: now))
        }

        var skip = ties > 1 ? Int(random.next(upperBound: UInt64(ties))) : 0
        var chosen = -1
        for position in figures.indices {
            guard figures[position].effectiveAvailable(freshFrom: threshold, now: now, slowStart: slowStart) == best else { continue }
            if !excluded.isEmpty, excluded.contains(position) { continue }
            if skip == 0 {
                chosen = position
                break
            }
            skip -= 1
        }
        precondition(chosen >= 0, "the first pass counted \(ties) servers at \(best)")

        let id = reserve(at: chosen, now: now, random: &random)
        return .picked(
            Pick(
                server: servers[chosen].url,
                available: best,
                workers: servers[chosen].reading?.workers ?? 0,
                reservationID: id.text
            )
        )
    }

    /// Positions of the listed entries in `excluding`; looked up once per pick so the loop
    /// compares integers instead of hashing every server's URL.
    func excludedPositions(_ excluding: Set<String>) -> [Int] {
        guard !excluding.isEmpty else { return [] }
        return excluding.compactMap { positions[$0] }
    }

    /// Why each server could not take the pick, in list order.
    func passedOver(excluded: [Int], threshold: Moment, now: Moment) -> [PassedOver] {
        servers.indices.map { position in
            let record = servers[position]
            let figures = figures[position]
            let reason: String
            if excluded.contains(position) {
                reason = "excluded"
            } else if record.operatorState == .draining {
                reason = "draining (operator): no new dialouts"
            } else if record.operatorState == .maintenance {
                reason = "maintenance (operator): no dialouts"
            } else if record.state == .down {
                reason = "down: \(record.lastError ?? record.downReason ?? "failing")"
            } else if let error = record.lastError {
                reason = "probe failed: \(error)"
            } else if let report = record.report {
                reason = report.reason == .busy
                    ? "full: the fleet server answered 429; waiting for a new probe"
                    : "dialout failed (reported); waiting for a good probe"
            } else if record.state == .draining {
                reason = "draining"
            } else if !figures.hasAnswer(since: threshold) {
                reason = "no fresh reading"
            } else if let since = figures.slowStartSince, now - since < configuration.slowStart, figures.reportedAvailable > figures.reserved {
                reason = "slow start: ramping up after coming back"
            } else {
                reason = "full"
            }
            return PassedOver(url: record.url, state: record.state, reason: reason, operatorState: record.operatorState)
        }
    }
}
