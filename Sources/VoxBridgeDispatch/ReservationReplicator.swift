import FleetPicker
import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// Sends the reservations this instance decides, and their releases, to the cluster's other
/// members as they happen, so that whichever instance decides next starts from every call handed
/// out, not only its own: a failover does not reopen the herd, and instances deciding alone while
/// PostgreSQL is away still see each other's calls.
///
/// Best effort by design: a batch goes to every member seen within the member timeout, each send
/// bounded by a short timeout and not retried. A reservation that does not arrive costs what a
/// lost reservation always costs (the server's next report counts the call anyway, within the
/// settle time); one that arrives late is held a little longer than needed, never shorter.
final class ReservationReplicator: Service, Sendable {
    /// One change to send.
    enum Change: Sendable {
        /// A reservation made on `server`.
        case made(id: String, server: String)
        /// A reservation released, and why (a `busy` or `failed` release holds the server back).
        case released(id: String, reason: ReleaseReason)
    }

    /// How long a batch gathers after the first change before it is sent: at 1,000 picks a
    /// second this makes about 200 batches a second per member instead of one per pick, and a
    /// reservation still reaches the others long before a takeover (which takes a lease's ttl)
    /// could need it.
    static let gathering: Duration = .milliseconds(5)

    /// The path members receive batches on.
    static let path = "/v1/cluster/reservations"
    /// The most changes in one request: about 100 bytes each, well under the receiver's 1 MiB
    /// body limit.
    static let batchLimit = 4_096

    /// The most changes waiting to be sent; past it the oldest are dropped (and counted), so a
    /// member that stalls cannot grow this process's memory.
    static let queueLimit = 65_536

    /// The queue, and the run loop's wait for it.
    private struct Pending: Sendable {
        var changes: [Change] = []
        var waiter: CheckedContinuation<Void, Never>?
        var stopping = false
    }

    private let coordinator: ClusterCoordinator
    private let forwarder: ClusterForwarder
    private let token: String?
    private let metrics: DispatchMetrics
    private let pending = Mutex(Pending())

    /// A replicator that sends through `forwarder`'s pool to `coordinator`'s peers, with `token`
    /// (the pick or admin token) when the service has one.
    init(coordinator: ClusterCoordinator, forwarder: ClusterForwarder, token: String?, metrics: DispatchMetrics) {
        self.coordinator = coordinator
        self.forwarder = forwarder
        self.token = token
        self.metrics = metrics
    }

    /// Queues a reservation this instance just made.
    func made(_ pick: Pick) {
        enqueue(.made(id: pick.reservationID, server: pick.server))
    }

    /// Queues a release this instance just applied.
    func released(id: String, reason: ReleaseReason) {
        enqueue(.released(id: id, reason: reason))
    }

    private func enqueue(_ change: Change) {
        let (waiter, dropped) = pending.withLock { pending in
            pending.changes.append(change)
            let dropped = pending.changes.count > Self.queueLimit
            if dropped { pending.changes.removeFirst(pending.changes.count - Self.queueLimit) }
            defer { pending.waiter = nil }
            return (pending.waiter, dropped)
        }
        if dropped { metrics.recordReplication(result: "dropped") }
        waiter?.resume()
    }

    /// Sends what is queued, one batch at a time (what arrives during a send goes in the next
    /// batch), until graceful shutdown or cancellation (a service group that cancels its
    /// services after one failed must not wait on this one); then once more, so the last
    /// decisions leave with the process.
    func run() async throws {
        await withTaskCancellationOrGracefulShutdownHandler {
            while true {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let ready = pending.withLock { pending in
                        if !pending.changes.isEmpty || pending.stopping { return true }
                        pending.waiter = continuation
                        return false
                    }
                    if ready { continuation.resume() }
                }
                if pending.withLock({ $0.stopping }) { break }
                try? await Task.sleep(for: Self.gathering)
                await sendQueued()
            }
        } onCancelOrGracefulShutdown: {
            let waiter = self.pending.withLock { pending in
                pending.stopping = true
                defer { pending.waiter = nil }
                return pending.waiter
            }
            waiter?.resume()
        }
        await sendQueued()
    }

    /// Sends every queued change to every peer at once and waits for them (each bounded).
    private func sendQueued() async {
        let changes = pending.withLock { pending in
            defer { pending.changes.removeAll(keepingCapacity: true) }
            return pending.changes
        }
        guard !changes.isEmpty else { return }
        let peers = coordinator.peers()
        guard !peers.isEmpty else { return }
        let (forwarder, token, metrics) = (forwarder, token, metrics)
        for start in stride(from: 0, to: changes.count, by: Self.batchLimit) {
            let chunk = changes[start..<min(start + Self.batchLimit, changes.count)]
            let body = ByteBuffer(bytes: Self.encode(Array(chunk), from: coordinator.selfURL))
            await withTaskGroup(of: Void.self) { group in
                for peer in peers {
                    group.addTask {
                        let ok = (try? await forwarder.post(Self.path, json: body, to: peer, token: token)) == true
                        metrics.recordReplication(result: ok ? "sent" : "failed")
                    }
                }
            }
        }
    }

    /// The batch's JSON: `{"from": URL, "made": [{"id", "server"}], "released": [{"id", "reason"}]}`.
    static func encode(_ changes: [Change], from url: String) -> Data {
        var made: [JSONValue] = []
        var released: [JSONValue] = []
        for change in changes {
            switch change {
            case .made(let id, let server): made.append(.object(["id": .string(id), "server": .string(server)]))
            case .released(let id, let reason): released.append(.object(["id": .string(id), "reason": .string(reason.rawValue)]))
            }
        }
        return JSONValue.object(["from": .string(url), "made": .array(made), "released": .array(released)]).encoded()
    }
}
