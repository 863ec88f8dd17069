/// What the caller's placing code reports to ``DispatchClient/dial(excluding:onPick:_:)`` after
/// trying one fleet server.
public enum PlacementOutcome: Sendable, Equatable {
    /// The fleet server took the call: the reservation stays and settles by itself.
    case placed
    /// The fleet server answered 429 (every worker busy): released `busy`, and the dial picks
    /// again without that server.
    case busy
    /// The fleet server answered 5xx or could not be reached: released `failed`, and the dial
    /// picks again without that server.
    case failed
}
