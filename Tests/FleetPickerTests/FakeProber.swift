import FleetPicker
import Synchronization

/// A prober that answers from a script, counts its calls and can hold probes open until the test
/// lets them go; `calls` announces each call as it starts.
final class FakeProber: FleetProbing {
    private struct State {
        var results: [String: ProbeResult] = [:]
        var counts: [String: Int] = [:]
        /// Servers whose probes are held; `nil` holds them all.
        var holding: Set<String>? = []
        var held: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())
    private let announcements = AsyncStream<String>.makeStream()

    /// Each probed server, as its probe starts.
    var calls: AsyncStream<String> { announcements.stream }

    init(_ results: [String: ProbeResult] = [:]) {
        state.withLock { $0.results = results }
    }

    /// Sets what `server` answers from now on.
    func answer(_ server: String, with result: ProbeResult) {
        state.withLock { $0.results[server] = result }
    }

    /// Probes made of `server` so far.
    func count(_ server: String) -> Int { state.withLock { $0.counts[server, default: 0] } }

    /// Holds the probes of `servers` (all servers when `nil`) from now on until ``release()``.
    func hold(_ servers: Set<String>? = nil) { state.withLock { $0.holding = servers } }

    /// Lets held probes answer and stops holding.
    func release() {
        let held = state.withLock { state in
            state.holding = []
            defer { state.held = [] }
            return state.held
        }
        for continuation in held { continuation.resume() }
    }

    func probe(server: String) async -> ProbeResult {
        let holding = state.withLock { state in
            state.counts[server, default: 0] += 1
            return state.holding?.contains(server) ?? true
        }
        announcements.continuation.yield(server)
        if holding {
            await withCheckedContinuation { continuation in
                let stillHolding = state.withLock { state in
                    let holding = state.holding?.contains(server) ?? true
                    if holding { state.held.append(continuation) }
                    return holding
                }
                if !stillHolding { continuation.resume() }
            }
        }
        return state.withLock { $0.results[server] ?? .failed(reason: "connect") }
    }
}
