/// The service's own counters at one moment: what the operator's page turns into rates.
struct DispatchCounts: Sendable, Equatable {
    /// Picks answered with a server.
    var picked = 0
    /// Picks answered 503 `no_capacity`.
    var noCapacity = 0
    /// Picks answered 503 `fleet_empty`.
    var fleetEmpty = 0
    /// Health probes finished, good or failed.
    var probes = 0
}
