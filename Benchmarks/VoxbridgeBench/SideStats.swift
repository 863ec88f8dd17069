import LoadKit
import Synchronization

/// Everything one picker's run counts, shared by the dialouts in flight.
final class SideStats: Sendable {
    struct Counts: Sendable {
        var picks = LatencyRecorder()
        /// How late the bench started each dialout against its intended time (its timer, its turn
        /// on the shared cores, an open loop's wait for a free slot), which the pick latencies
        /// include.
        var startLag = LatencyRecorder()
        var dialoutsAttempted = 0
        var dialoutsPlaced = 0
        /// Dialouts a fleet server answered 429.
        var rejected429 = 0
        /// Picks answered "no capacity".
        var noCapacity = 0
        /// Dialout attempts a fleet server answered 5xx (a failing or draining server) or never
        /// answered: each is released `failed` and the dialout tries another server.
        var failedAttempts = 0
        /// Pick errors, fleet answers other than 200, 429 or 5xx, transport errors to the dispatcher.
        var errors = 0
        /// Dialouts that got 429 on the first try and on both retries.
        var gaveUp = 0
        /// Dialouts still in flight when the run's time bound cancelled them (not errors).
        var unfinished = 0
        /// A few distinct error texts, for the report.
        var errorSamples: [String] = []
    }

    let counts = Mutex(Counts())

    func recordPick(_ latency: Duration) {
        counts.withLock { $0.picks.record(latency) }
    }

    func add(_ change: (inout Counts) -> Void) {
        counts.withLock { change(&$0) }
    }

    func error(_ text: String) {
        if Task.isCancelled {
            counts.withLock { $0.unfinished += 1 }
            return
        }
        counts.withLock {
            $0.errors += 1
            if $0.errorSamples.count < 5, !$0.errorSamples.contains(text) { $0.errorSamples.append(text) }
        }
    }

    var snapshot: Counts { counts.withLock { $0 } }
}
