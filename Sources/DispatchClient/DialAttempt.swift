/// One server a dial tried and what the placing code said about it.
public struct DialAttempt: Sendable, Equatable {
    /// The fleet server tried.
    public var server: String
    /// What the placing code reported: ``PlacementOutcome/busy`` or ``PlacementOutcome/failed``
    /// for the attempts of a dial that gave up.
    public var outcome: PlacementOutcome

    /// An attempt on `server` that ended with `outcome`.
    public init(server: String, outcome: PlacementOutcome) {
        self.server = server
        self.outcome = outcome
    }
}
