/// What a pick decided.
public enum PickOutcome: Sendable, Equatable {
    /// A server was chosen and a reservation made on it.
    case picked(Pick)
    /// The fleet list is empty (`503 fleet_empty`).
    case fleetEmpty
    /// No server can take a call (`503 no_capacity`); one entry per server, in list order.
    case noCapacity([PassedOver])
}
