import DispatchCluster
import DispatchTestSupport
import Foundation
import HTTPTypes
import Logging
import NIOCore
import Synchronization

/// The lease row and the members in memory, stamped by the test clock, with the semantics of
/// ``PostgresLease``'s statements: take when lapsed, renew when held, read back either way.
final class LeaseTable: Sendable {
    private struct Row {
        var holder = "", holderURL = "", fencing: Int64 = 0
        var expires = ms(0)
    }

    let clock: TestClock
    private let row = Mutex(Row())

    init(clock: TestClock) {
        self.clock = clock
    }

    func takeOrRenew(identity: String, url: String, ttl: Duration) -> LeaseRow {
        let now = clock.now
        return row.withLock { row in
            if row.holder == identity || row.expires <= now {
                // A new term (a new holder, or the same one after its lease lapsed) raises the fencing number.
                if row.holder != identity || row.expires <= now { row.fencing += 1 }
                row.holder = identity
                row.holderURL = url
                row.expires = now.advanced(by: ttl)
            }
            return LeaseRow(holder: row.holder, holderURL: row.holderURL, fencing: row.fencing, remaining: now.duration(to: row.expires))
        }
    }

    func read() -> LeaseRow {
        let now = clock.now
        return row.withLock { LeaseRow(holder: $0.holder, holderURL: $0.holderURL, fencing: $0.fencing, remaining: now.duration(to: $0.expires)) }
    }

    private let members = Mutex<[String: ClusterMember]>([:])

    /// Writes a membership row and reads every member's.
    func heartbeat(identity: String, url: String, role: String) -> [ClusterMember] {
        members.withLock { members in
            members[identity] = ClusterMember(id: identity, url: url, role: role, seenAgo: .zero)
            return members.values.sorted { $0.url < $1.url }
        }
    }
}

/// One instance's way to the lease table; `reachable` false stands for a partition from the
/// database (every round trip fails at once).
final class MemoryLeaseStore: LeaseStore {
    struct Unreachable: Error {}

    let identity: String
    let url: String
    let table: LeaseTable
    let reachable = Atomic(true)
    /// A link where nothing passes: every round trip waits (until cancelled) instead of failing.
    let hanging = Atomic(false)
    /// Round trips waiting on the hanging link.
    let waiting = Atomic(0)

    init(identity: String, table: LeaseTable) {
        self.identity = identity
        self.url = "http://\(identity)"
        self.table = table
    }

    private func hang() async throws {
        guard hanging.load(ordering: .relaxed) else { return }
        waiting.add(1, ordering: .relaxed)
        try await Task.sleep(for: .seconds(3_600))
        throw Unreachable()
    }

    func takeOrRenew(ttl: Duration) async throws -> LeaseRow {
        try await hang()
        guard reachable.load(ordering: .relaxed) else { throw Unreachable() }
        return table.takeOrRenew(identity: identity, url: url, ttl: ttl)
    }

    func read() async throws -> LeaseRow {
        try await hang()
        guard reachable.load(ordering: .relaxed) else { throw Unreachable() }
        return table.read()
    }

    func release(fencing: Int64) async throws {}
    func heartbeat(role: String, timeout: Duration) async throws -> [ClusterMember] {
        guard reachable.load(ordering: .relaxed), !hanging.load(ordering: .relaxed) else { throw Unreachable() }
        return table.heartbeat(identity: identity, url: url, role: role)
    }
    func leave() async throws {}
    func close() async {}
}

/// Records what the runtime counts.
final class RecordingClusterMetrics: ClusterMetrics {
    let forwards = Mutex<[String]>([])
    let replications = Mutex<[String]>([])

    func setClusterRole(_ role: String, fencing: Int64?) {}
    func recordForward(result: String) { forwards.withLock { $0.append(result) } }
    func recordReplication(result: String) { replications.withLock { $0.append(result) } }
}

/// A leader's side of a forward, per leader URL: answers, fails at once, or never answers
/// (a frozen process: the call ends only when cancelled).
final class ScriptedForwarder: LeaderForwarding {
    enum Behaviour: Sendable { case answer, unreachable, frozen }

    let behaviours: [String: Behaviour]
    /// The leader URLs forwarded to, in order.
    let sent = Mutex<[String]>([])

    init(_ behaviours: [String: Behaviour]) {
        self.behaviours = behaviours
    }

    func forward(_ head: HTTPRequest, body: ByteBuffer, to leaderURL: String) async throws -> ClusterForwarder.Answer {
        sent.withLock { $0.append(leaderURL) }
        switch behaviours[leaderURL] ?? .unreachable {
        case .answer:
            return ClusterForwarder.Answer(status: .ok, headers: [:], body: ByteBuffer(string: "answered by \(leaderURL)"))
        case .unreachable:
            throw MemoryLeaseStore.Unreachable()
        case .frozen:
            try await Task.sleep(for: .seconds(3_600))
            throw CancellationError()
        }
    }

    /// A relay through `member`, recorded as `relay:` and the member's URL; the member answers as
    /// its behaviour says.
    func relay(_ head: HTTPRequest, body: ByteBuffer, through member: String) async throws -> ClusterForwarder.Answer {
        sent.withLock { $0.append("relay:" + member) }
        guard behaviours[member] == .answer else { throw MemoryLeaseStore.Unreachable() }
        return ClusterForwarder.Answer(status: .ok, headers: [:], body: ByteBuffer(string: "relayed by \(member)"))
    }
}

/// The other members' first-hand views, read from their coordinators (``PeerView/init(_:)``),
/// for members `reachable` from the asker.
final class WorldPeers: PeerAsking {
    let coordinators = Mutex<[String: ClusterCoordinator<TestClock>]>([:])
    /// Members the asker cannot reach.
    let cutOff = Mutex<Set<String>>([])

    func add(_ instances: [ClusterCoordinator<TestClock>]) {
        coordinators.withLock { for instance in instances { $0[instance.selfURL] = instance } }
    }

    func view(of member: String) async -> PeerView? {
        guard !cutOff.withLock({ $0.contains(member) }), let coordinator = coordinators.withLock({ $0[member] }) else { return nil }
        return PeerView(coordinator.status())
    }
}

/// Instances of one cluster on one test clock and one lease table.
struct ClusterWorld {
    let clock = TestClock()
    let table: LeaseTable
    let configuration = LeaseConfiguration()
    let metrics = RecordingClusterMetrics()

    init() {
        table = LeaseTable(clock: clock)
    }

    /// An instance named `name`, reached at `http://name`.
    func instance(_ name: String, peers: (any PeerAsking)? = nil) -> (ClusterCoordinator<TestClock>, MemoryLeaseStore) {
        var logger = Logger(label: "cluster-test")
        logger.logLevel = .critical
        let store = MemoryLeaseStore(identity: name, table: table)
        return (ClusterCoordinator(configuration: configuration, lease: store, peerAsking: peers, metrics: metrics, logger: logger, clock: clock), store)
    }

    /// Waits in real time, the test clock standing still, until `done` holds (at most `limit` ms).
    @discardableResult
    func settle(limit: Int = 5_000, until done: () -> Bool) async -> Bool {
        for _ in 0..<limit {
            if done() { return true }
            try? await Task.sleep(for: .milliseconds(1))
        }
        return done()
    }

    /// Moves the test clock 10 ms a step, each of `instances` asking the database every 100 ms
    /// (the poll interval), until `done` holds; `check` runs after every step.
    @discardableResult
    func driveRounds(_ instances: [ClusterCoordinator<TestClock>], until done: () -> Bool, check: () -> Void = {}) async -> Bool {
        var step = 0
        return await drive(step: .milliseconds(10), until: done) {
            step += 1
            if step % 10 == 0 {
                for instance in instances { await instance.leaseRound() }
            }
            check()
        }
    }

    /// Moves the test clock in `step`s, letting tasks run between steps (1 ms of real time
    /// each), until `done` holds or `limit` steps have passed; `each` runs before every step.
    /// - Returns: Whether `done` held.
    @discardableResult
    func drive(step: Duration = .milliseconds(5), limit: Int = 2_000, until done: () -> Bool, each: () async -> Void = {}) async -> Bool {
        for _ in 0..<limit {
            if done() { return true }
            await each()
            clock.advance(by: step)
            try? await Task.sleep(for: .milliseconds(1))
        }
        return done()
    }
}

/// A JSON object body as a dictionary (empty when it is not one).
func json(_ buffer: ByteBuffer) -> [String: Any] {
    (try? JSONSerialization.jsonObject(with: Data(buffer.readableBytesView))) as? [String: Any] ?? [:]
}
