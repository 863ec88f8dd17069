extension FleetState {
    /// Drops a reservation because its dialout did not happen.
    ///
    /// Linear in the reservations alive, which are bounded by the picks of one TTL.
    /// - Returns: `false` when no reservation has that identity (released, settled, expired or
    ///   never made), so the API can answer 404.
    public mutating func release(reservationID: String, now: Instant) -> Bool {
        pruneReservations(now: moment(now))
        guard let id = ReservationID(text: reservationID) else { return false }
        for position in servers.indices {
            if let index = servers[position].reservations.firstIndex(where: { $0.id == id }) {
                servers[position].reservations.remove(at: index)
                refreshFigures(at: position)
                return true
            }
        }
        return false
    }

    /// Ends every reservation at least `reservationTTL` old at `now`, so that a snapshot taken
    /// after a quiet spell shows only live ones.
    public mutating func expireReservations(now: Instant) {
        pruneReservations(now: moment(now))
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
        servers[position].reservations.append(Reservation(id: id, madeAt: now))
        figures[position].reserved += 1
        let expiry = now + configuration.reservationTTL
        if nextExpiry.map({ expiry < $0 }) ?? true { nextExpiry = expiry }
        return id
    }
}
