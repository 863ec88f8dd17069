/// Why a reservation is given back: the `reason` of `POST /v1/release`.
public enum ReleaseReason: String, Sendable, Equatable, CaseIterable {
    /// The call was not attempted (the dispatcher only drops the reservation).
    case notPlaced = "not_placed"
    /// The fleet server answered 429: the dispatcher counts it full until a newer probe says otherwise.
    case busy
    /// The fleet server answered 5xx or could not be reached: the dispatcher passes it over until
    /// a newer probe succeeds, and counts the report toward `--fall`.
    case failed
}
