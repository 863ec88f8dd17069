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
/// Best effort by design: a batch goes to every member seen within the member timeout, each
/// member from its own outbox, each send bounded by a short timeout and not retried. A
/// reservation that does not arrive costs what a lost reservation always costs (the server's
/// next report counts the call anyway, within the settle time); one that arrives late is held a
/// little longer than needed, never shorter.
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

    /// The most changes waiting for one member (and in the queue); past it the oldest are
    /// dropped (and counted), so a member that stalls cannot grow this process's memory.
    static let queueLimit = 65_536

    /// What one member is still to be sent, and whether a sender is on it.
    private struct Outbox: Sendable {
        var changes: [Change] = []
        var sending = false
    }

    /// The queue, the members' outboxes, and the run loop's wait for the queue.
    private struct Pending: Sendable {
        var changes: [Change] = []
        var outboxes: [String: Outbox] = [:]
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

    /// Hands what is queued to every member's outbox, and keeps one sender per member, until
    /// graceful shutdown or cancellation (a service group that cancels its services after one
    /// failed must not wait on this one); then once more, so the last decisions leave with the
    /// process. Each member has its own sender, so a member that is frozen or gone (its sends
    /// time out) delays nobody else's batches.
    func run() async throws {
        await withDiscardingTaskGroup { senders in
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
                    for peer in distribute() { senders.addTask { await self.drain(peer) } }
                }
            } onCancelOrGracefulShutdown: {
                let waiter = self.pending.withLock { pending in
                    pending.stopping = true
                    defer { pending.waiter = nil }
                    return pending.waiter
                }
                waiter?.resume()
            }
            for peer in distribute() { senders.addTask { await self.drain(peer) } }
        }
    }

    /// Moves the queued changes into the outbox of every current member (each capped at
    /// ``queueLimit``, dropping the oldest) and forgets the outboxes of members that left.
    /// - Returns: The members that have changes to send and no sender yet.
    private func distribute() -> [String] {
        let peers = coordinator.peers()
        let (toStart, dropped) = pending.withLock { pending -> ([String], Int) in
            let changes = pending.changes
            pending.changes.removeAll(keepingCapacity: true)
            let current = Set(peers)
            for (peer, outbox) in pending.outboxes where !current.contains(peer) && !outbox.sending {
                pending.outboxes[peer] = nil
            }
            guard !changes.isEmpty else { return ([], 0) }
            var toStart: [String] = []
            var dropped = 0
            for peer in peers {
                var outbox = pending.outboxes[peer] ?? Outbox()
                outbox.changes.append(contentsOf: changes)
                if outbox.changes.count > Self.queueLimit {
                    dropped += outbox.changes.count - Self.queueLimit
                    outbox.changes.removeFirst(outbox.changes.count - Self.queueLimit)
                }
                if !outbox.sending {
                    outbox.sending = true
                    toStart.append(peer)
                }
                pending.outboxes[peer] = outbox
            }
            return (toStart, dropped)
        }
        if dropped > 0 { metrics.recordReplication(result: "dropped") }
        return toStart
    }

    /// Sends `peer`'s outbox, ``batchLimit`` changes a request, until it is empty.
    private func drain(_ peer: String) async {
        while true {
            let batch: [Change] = pending.withLock { pending in
                guard var outbox = pending.outboxes[peer], !outbox.changes.isEmpty else {
                    pending.outboxes[peer]?.sending = false
                    return []
                }
                let batch = Array(outbox.changes.prefix(Self.batchLimit))
                outbox.changes.removeFirst(batch.count)
                pending.outboxes[peer] = outbox
                return batch
            }
            guard !batch.isEmpty else { return }
            let body = ByteBuffer(bytes: Self.encode(batch, from: coordinator.selfURL))
            let ok = (try? await forwarder.post(Self.path, json: body, to: peer, token: token)) == true
            metrics.recordReplication(result: ok ? "sent" : "failed")
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
