/// One simulated fleet server's configuration: what `voxcore-sim`'s flags set and
/// `POST /control/servers/INDEX` changes while it runs.
public struct SimServerSettings: Sendable, Equatable {
    /// Configured workers (`workers` in the health answer); each takes one call.
    public var workers: Int
    /// How the health endpoint answers.
    public var mode: SimMode
    /// Added before every health answer.
    public var healthLatency: Duration
    /// Workers already busy at start (and after a reset) with calls that outlast any run.
    public var busyAtStart: Int

    /// Creates settings; every parameter has the plain healthy default.
    /// - Parameters:
    ///   - workers: workers of the server (default 16, like VOXCORE_WORKERS).
    ///   - mode: health behaviour (default ``SimMode/ok``).
    ///   - healthLatency: delay before each health answer (default none).
    ///   - busyAtStart: workers busy from the start with long calls (default 0).
    public init(workers: Int = 16, mode: SimMode = .ok, healthLatency: Duration = .zero, busyAtStart: Int = 0) {
        self.workers = workers
        self.mode = mode
        self.healthLatency = healthLatency
        self.busyAtStart = busyAtStart
    }
}
