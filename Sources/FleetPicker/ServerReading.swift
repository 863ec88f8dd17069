/// What a healthy fleet server reported on `GET /health/fleet`.
public struct ServerReading: Sendable, Equatable {
    /// Configured workers (`workers`).
    public var workers: Int
    /// Workers busy with a call (`active_calls`).
    public var activeCalls: Int
    /// Free workers as reported, never above ``workers``.
    public var available: Int
    /// `"ok"` when the server takes calls; anything else (for example `"draining"`) means it
    /// does not.
    public var status: String

    /// Creates a reading, applying the contract's rules for the optional fields.
    ///
    /// - Parameters:
    ///   - workers: Configured workers.
    ///   - activeCalls: Busy workers.
    ///   - available: Free workers when the server reported them; `nil` means
    ///     `max(0, workers - activeCalls)`. A reported figure is capped at `workers`.
    ///   - status: The reported status; `"ok"` when absent.
    public init(workers: Int, activeCalls: Int, available: Int? = nil, status: String = "ok") {
        self.workers = workers
        self.activeCalls = activeCalls
        self.available = min(available ?? max(0, workers - activeCalls), workers)
        self.status = status
    }

    /// Whether the server says it takes calls.
    var isTakingCalls: Bool { status == "ok" }
}
