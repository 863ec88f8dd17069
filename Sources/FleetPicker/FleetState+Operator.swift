extension FleetState {
    /// Applies the operators' states: each server takes its entry in `states`, every other one
    /// is ``OperatorState/active``.
    ///
    /// - Into maintenance: its probes move to the down interval, counted from `now`.
    /// - Out of maintenance: it is due for a probe at once, so it does not wait a down interval.
    /// - Back to active, up: a slow start from `now` (when ``FleetPickerConfiguration/slowStart``
    ///   is set), as for a server that came back up.
    /// - Returns: The servers whose state changed, in list order.
    @discardableResult
    public mutating func setOperatorStates(_ states: [String: OperatorState], now: Instant) -> [OperatorStateChange] {
        let now = moment(now)
        var changes: [OperatorStateChange] = []
        for position in servers.indices {
            let before = servers[position].operatorState
            let after = states[servers[position].url] ?? .active
            guard after != before else { continue }
            servers[position].operatorState = after
            if after == .maintenance {
                servers[position].maintenanceSince = now
                servers[position].nextBackgroundProbe = nil
                servers[position].nextRefresh = nil
            } else if before == .maintenance {
                servers[position].maintenanceSince = nil
                servers[position].nextBackgroundProbe = servers[position].state == .down ? now : nil
                servers[position].nextRefresh = nil
                servers[position].refreshPhased = false
            }
            if after == .active, servers[position].state == .up, configuration.slowStart > .zero {
                servers[position].slowStartSince = now
            }
            refreshFigures(at: position)
            changes.append(OperatorStateChange(server: servers[position].url, from: before, to: after))
        }
        return changes
    }
}
