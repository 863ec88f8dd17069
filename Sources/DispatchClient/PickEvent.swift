/// One pick a dial made, for callers that measure: when it was sent and when its answer (or
/// error) came back. Handed to the `onPick` hook of ``DispatchClient/dial(excluding:onPick:_:)``.
public struct PickEvent: Sendable {
    /// 1 for the dial's first pick, 2 and 3 for the picks after a `busy` or `failed` placement.
    public var attempt: Int
    /// When the pick request was started.
    public var started: ContinuousClock.Instant
    /// When its answer or error arrived.
    public var ended: ContinuousClock.Instant
    /// The server picked, or `nil` when the pick failed (no capacity, an error).
    public var server: String?

    /// An event for pick number `attempt`.
    public init(attempt: Int, started: ContinuousClock.Instant, ended: ContinuousClock.Instant, server: String?) {
        self.attempt = attempt
        self.started = started
        self.ended = ended
        self.server = server
    }

    /// `ended - started`.
    public var duration: Duration { ended - started }
}
