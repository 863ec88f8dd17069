import DispatchClient

/// Picks through a running `voxbridge-dispatch` with the callers' own client: every dialout is
/// one ``DispatchClient/dial(excluding:onPick:_:)``, so the bench measures what callers get,
/// releases (`busy`, `failed`, `not_placed`) and retry limit included.
struct DispatcherPicker: Picker {
    let client: DispatchClient

    /// Why the placing code ended the dial without a verdict; the dial releases `not_placed`.
    private enum Stop: Error {
        case unexpected(Int)
    }

    func dialout(http: LoopbackHTTP, stats: SideStats, intendedStart: ContinuousClock.Instant) async {
        stats.add { $0.dialoutsAttempted += 1 }
        do {
            try await client.dial(
                onPick: { event in
                    // Recorded even when the time bound cancelled it: its latency is at least this long.
                    stats.recordPick(event.attempt == 1 ? event.ended - intendedStart : event.duration)
                },
                { pick in
                    switch await SimDialout.place(on: pick.server, http: http, stats: stats) {
                    case .placed: return .placed
                    case .busy: return .busy
                    case .failed: return .failed
                    case .cancelled: throw CancellationError()
                    case .unexpected(let status): throw Stop.unexpected(status)
                    }
                })
        } catch is CancellationError {
            stats.add { $0.unfinished += 1 }
        } catch DispatchClientError.noCapacity {
            stats.add { $0.noCapacity += 1 }
        } catch DispatchClientError.retriesExhausted {
            stats.add { $0.gaveUp += 1 }
        } catch Stop.unexpected(let status) {
            stats.error("dialout: HTTP \(status)")
        } catch {
            stats.error("pick: \(error)")
        }
    }
}
