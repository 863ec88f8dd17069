/// The placing half of a simulated dialout, the same for both pickers: `POST /livekit/dialout`
/// on the chosen fleet server, counted into the side's stats.
enum SimDialout {
    /// What the fleet server's answer means for the dialout.
    enum Result: Sendable, Equatable {
        /// 200: a worker took the call.
        case placed
        /// 429: every worker busy.
        case busy
        /// 5xx or no answer.
        case failed
        /// Any other status: counted as an error, the dialout ends.
        case unexpected(Int)
        /// The run's time bound cancelled it.
        case cancelled
    }

    /// Places the call on `server` and counts placed, 429s and failed attempts into `stats`.
    static func place(on server: String, http: LoopbackHTTP, stats: SideStats) async -> Result {
        let status: Int
        do {
            status = try await http.send(.POST, server + "/livekit/dialout", json: #"{"to":"+15550100"}"#).status
        } catch {
            if Task.isCancelled { return .cancelled }
            status = 0
        }
        switch status {
        case 200:
            stats.add { $0.dialoutsPlaced += 1 }
            return .placed
        case 429:
            stats.add { $0.rejected429 += 1 }
            return .busy
        case 0, 500...599:
            stats.add { $0.failedAttempts += 1 }
            return .failed
        default:
            return .unexpected(status)
        }
    }
}
