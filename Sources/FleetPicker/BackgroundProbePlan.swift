/// Which down servers are due for a background probe, from ``FleetState/backgroundProbes(now:random:)``.
public struct BackgroundProbePlan<Instant: InstantProtocol>: Sendable, Equatable {
    /// Servers to probe now; already marked as in flight from ``startedAt``.
    public var probe: [String]
    /// The start instant recorded for the probes in ``probe``.
    public var startedAt: Instant
    /// When the next down server falls due; `nil` when no server is down.
    public var nextDue: Instant?

    /// Creates a plan.
    public init(probe: [String], startedAt: Instant, nextDue: Instant?) {
        self.probe = probe
        self.startedAt = startedAt
        self.nextDue = nextDue
    }
}
