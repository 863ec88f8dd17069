/// What one pick answered.
enum PickAnswer: Sendable, Equatable {
    /// A server to place the call on, and the reservation to give back if the call fails.
    case picked(server: String, reservation: String?)
    /// No server can take a call (503 `no_capacity`, or the naive picker found none).
    case noCapacity
    /// Anything else: a transport error, an unexpected status.
    case error(String)
}

/// Why a dialout gave its reservation back: the `reason` of `POST /v1/release`.
enum DialoutOutcome: String, Sendable {
    /// The fleet server answered 429.
    case busy
    /// The fleet server answered 5xx or could not be reached.
    case failed
    /// The call was not attempted.
    case notPlaced = "not_placed"
}

/// A way of choosing the fleet server for a dialout: the dispatcher (``DispatcherPicker``) or
/// the naive picker (``NaivePicker``).
protocol Picker: Sendable {
    /// Chooses a server, never one in `exclude`.
    func pick(exclude: [String]) async -> PickAnswer
    /// Gives a reservation back: the dialout did not happen, for `outcome`.
    func release(_ reservation: String, outcome: DialoutOutcome) async
}
