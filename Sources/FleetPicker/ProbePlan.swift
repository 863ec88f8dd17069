/// Which probes a pick needs before it can decide, from ``FleetState/planProbes(excluding:arrivedAt:now:)``.
public struct ProbePlan<Instant: InstantProtocol>: Sendable, Equatable {
    /// Servers to probe now; the plan has already marked their probes as in flight from
    /// ``startedAt``, so report each result with that start.
    public var probe: [String]
    /// Servers whose probe under way started late enough for this pick: wait for it rather than
    /// start another (single flight).
    public var join: [String]
    /// The start instant recorded for the probes in ``probe``.
    public var startedAt: Instant?

    /// Whether the pick can decide at once.
    public var isEmpty: Bool { probe.isEmpty && join.isEmpty }

    /// Creates a plan.
    public init(probe: [String] = [], join: [String] = [], startedAt: Instant? = nil) {
        self.probe = probe
        self.join = join
        self.startedAt = startedAt
    }
}
