/// Whether the settings store can be reached.
public enum StoreAvailability: Sendable, Equatable {
    /// Reads and writes reach the store.
    case available
    /// The store cannot be reached; picks go on with the last list loaded. `reason` says why.
    case unavailable(reason: String)
}
