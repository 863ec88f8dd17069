/// A fleet server's health answer that passed every check, with the probe's timing.
public struct HealthReport: Sendable, Equatable {
    /// Configured workers (`workers`).
    public var workers: Int
    /// Workers busy with a call now (`active_calls`).
    public var activeCalls: Int
    /// Free workers: `available` capped at `workers`, or `max(0, workers - active_calls)`.
    public var available: Int
    /// `ok`, or anything else such as `draining`.
    public var status: String
    /// Time from the start of the probe until its answer was read.
    public var latency: Duration
    /// When the probe started, for freshness decisions.
    public var startedAt: ContinuousClock.Instant

    /// Creates a report.
    public init(
        workers: Int, activeCalls: Int, available: Int, status: String,
        latency: Duration, startedAt: ContinuousClock.Instant
    ) {
        self.workers = workers
        self.activeCalls = activeCalls
        self.available = available
        self.status = status
        self.latency = latency
        self.startedAt = startedAt
    }

    /// Creates a report from a parsed body and the probe's timing.
    public init(reading: HealthReading, latency: Duration, startedAt: ContinuousClock.Instant) {
        self.init(
            workers: reading.workers, activeCalls: reading.activeCalls, available: reading.available,
            status: reading.status, latency: latency, startedAt: startedAt)
    }

    /// Only servers whose status is exactly `ok` receive calls.
    public var isAcceptingCalls: Bool { status == "ok" }
}

extension HealthReport {
    /// What a healthy answer means for the server's calls, in a few words (`fleet add --verify`
    /// and the operator page's check show it).
    public var note: String {
        let figures = "\(available) of \(workers) workers free"
        return isAcceptingCalls ? "healthy, \(figures)" : "answers with status \(status), \(figures): it gets no calls until it reports ok"
    }
}
