/// The service's own counters at one moment: what the operator's page turns into rates.
public struct DispatchCounts: Sendable, Equatable {
    /// Picks answered with a server.
    public var picked = 0
    /// Picks answered 503 `no_capacity`.
    public var noCapacity = 0
    /// Picks answered 503 `fleet_empty`.
    public var fleetEmpty = 0
    /// Health probes finished, good or failed.
    public var probes = 0

    /// The counts given.
    public init(picked: Int = 0, noCapacity: Int = 0, fleetEmpty: Int = 0, probes: Int = 0) {
        self.picked = picked
        self.noCapacity = noCapacity
        self.fleetEmpty = fleetEmpty
        self.probes = probes
    }
}
