import LoadKit
import Synchronization

/// Everything one picker's run counts, shared by the dialouts in flight.
final class SideStats: Sendable {
    struct Counts: Sendable {
        var picks = LatencyRecorder()
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

/// One simulated dialout, as the dialout code does it: pick → `POST /livekit/dialout` on the
/// chosen server → on 429 release `busy`, on 5xx or no answer release `failed`, and pick again
/// with that server excluded, at most twice.
///
/// The first pick's latency runs from `intendedStart` (the arrival's scheduled time in an open
/// loop), each retry's from when it was sent.
func simulateDialout(
    picker: any Picker, http: LoopbackHTTP, stats: SideStats, intendedStart: ContinuousClock.Instant
) async {
    stats.add { $0.dialoutsAttempted += 1 }
    var exclude: [String] = []
    for attempt in 0..<3 {
        let started = attempt == 0 ? intendedStart : ContinuousClock.now
        let answer = await picker.pick(exclude: exclude)
        // Recorded even when the time bound cancelled it: its latency is at least this long.
        stats.recordPick(ContinuousClock.now - started)
        if Task.isCancelled {
            stats.add { $0.unfinished += 1 }
            return
        }
        switch answer {
        case .noCapacity:
            stats.add { $0.noCapacity += 1 }
            return
        case .error(let text):
            stats.error(text)
            return
        case .picked(let server, let reservation):
            let status: Int
            do {
                status = try await http.send(.POST, server + "/livekit/dialout", json: #"{"to":"+15550100"}"#).status
            } catch {
                if Task.isCancelled {
                    stats.add { $0.unfinished += 1 }
                    return
                }
                status = 0
            }
            switch status {
            case 200:
                stats.add { $0.dialoutsPlaced += 1 }
                return
            case 429:
                stats.add { $0.rejected429 += 1 }
                if let reservation { await picker.release(reservation, outcome: .busy) }
            case 0, 500...599:
                stats.add { $0.failedAttempts += 1 }
                if let reservation { await picker.release(reservation, outcome: .failed) }
            default:
                if let reservation { await picker.release(reservation, outcome: .notPlaced) }
                stats.error("dialout: HTTP \(status)")
                return
            }
            exclude.append(server)
        }
    }
    stats.add { $0.gaveUp += 1 }
}
