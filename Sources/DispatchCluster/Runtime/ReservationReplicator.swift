import FleetPicker
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
public final class ReservationReplicator<C: Clock>: Service, Sendable where C.Duration == Duration {
    /// How long a batch gathers after the first change before it is sent: at 1,000 picks a
    /// second this makes about 200 batches a second per member instead of one per pick, and a
    /// reservation still reaches the others long before a takeover (which takes a lease's ttl)
    /// could need it.
    static var gathering: Duration { .milliseconds(5) }

    /// The most changes in one request: about 100 bytes each, well under the receiver's 1 MiB
    /// body limit.
    static var batchLimit: Int { 4_096 }

    /// The most changes waiting for one member (and in the queue); past it the oldest are
    /// dropped (and counted), so a member that stalls cannot grow this process's memory.
    static var queueLimit: Int { 65_536 }

    /// What one member is still to be sent, and whether a sender is on it.
    private struct Outbox: Sendable {
        var changes: [ReservationChange] = []
        var sending = false
    }

    /// The queue, the members' outboxes, and the run loop's wait for the queue.
    private struct Pending: Sendable {
        var changes: [ReservationChange] = []
        var outboxes: [String: Outbox] = [:]
        var waiter: CheckedContinuation<Void, Never>?
        var stopping = false
    }

    private let selfURL: String
    private let peers: @Sendable () -> [String]
    private let sender: any ReservationSending
    private let metrics: any ClusterMetrics
    private let clock: C
    private let pending = Mutex(Pending())

    /// A replicator that sends, through `sender`, to the members `peers` lists at each batch.
    /// - Parameters:
    ///   - selfURL: this instance's URL, the batches' `from`.
    ///   - peers: the other members now (``ClusterCoordinator/peers()``).
    ///   - clock: the clock a batch gathers on.
    public init(
        selfURL: String, peers: @escaping @Sendable () -> [String], sender: any ReservationSending,
        metrics: any ClusterMetrics, clock: C
    ) {
        self.selfURL = selfURL
        self.peers = peers
        self.sender = sender
        self.metrics = metrics
        self.clock = clock
    }

    /// Queues a reservation this instance just made.
    public func made(_ pick: Pick) {
        enqueue(.made(id: pick.reservationID, server: pick.server))
    }

    /// Queues a release this instance just applied.
    public func released(id: String, reason: ReleaseReason) {
        enqueue(.released(id: id, reason: reason))
    }

    private func enqueue(_ change: ReservationChange) {
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
    public func run() async throws {
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
                    try? await clock.sleep(until: clock.now.advanced(by: Self.gathering), tolerance: nil)
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
        let peers = peers()
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
            let batch: [ReservationChange] = pending.withLock { pending in
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
            let ok = await sender.send(ByteBuffer(bytes: ReservationChange.encode(batch, from: selfURL)), to: peer)
            metrics.recordReplication(result: ok ? "sent" : "failed")
        }
    }
}
