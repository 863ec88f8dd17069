import DispatchCluster
import DispatchTestSupport
import FleetPicker
import HTTPTypes
import NIOCore
import Synchronization
import Testing

/// The cluster runtime (coordinator, path, replicator) on a test clock with the lease in memory:
/// takeovers, abandoned forwards and frozen members without PostgreSQL, sockets or child
/// processes. The process tests (ClusterTests, ClusterLeaseTests) check the same against the
/// real database.
@Suite("Cluster runtime on a test clock")
struct ClusterRuntimeTests {
    static let pick = HTTPRequest(method: .post, scheme: nil, authority: nil, path: "/v1/pick")

    @Test("the leader's lease lapses and a follower takes over; the two never decide under the lease at once")
    func followerTakesOver() async {
        let world = ClusterWorld()
        let (a, aStore) = world.instance("a")
        let (b, _) = world.instance("b")
        await a.leaseRound()
        await b.leaseRound()
        #expect(a.route() == .decide(fencing: 1))
        #expect(b.route() == .forward(leaderURL: "http://a"))

        // a is cut off from the database: its round trips fail from now on.
        aStore.reachable.store(false, ordering: .relaxed)
        var overlap = false
        let tookOver = await world.driveRounds([a, b], until: { b.route() == .decide(fencing: 2) }) {
            if a.route() == .decide(fencing: 1), b.route() == .decide(fencing: 2) { overlap = true }
        }
        #expect(tookOver, "b leads after a's lease lapsed")
        #expect(!overlap)
        #expect(!a.confirm(fencing: 1), "a decides under its old term no more")
        #expect(a.route() == .decide(fencing: nil), "a, alone with no database, decides alone (degraded)")
    }

    /// What became of a pick sent through follower f's path while leader a does as `leader`
    /// says (never answers, or fails at once) and renews nothing, until b takes the lapsed lease.
    struct TakeoverRun {
        var answered: Bool
        var answer: String?
        var sent: [String]
        var forwards: [String]
        var b: ClusterCoordinator<TestClock>
    }

    static func pickDuringTakeover(leader: ScriptedForwarder.Behaviour) async -> TakeoverRun {
        let world = ClusterWorld()
        let (a, _) = world.instance("a")
        let (b, _) = world.instance("b")
        let (follower, _) = world.instance("f")
        await a.leaseRound()
        await b.leaseRound()
        await follower.leaseRound()
        #expect(follower.route() == .forward(leaderURL: "http://a"))

        let forwarder = ScriptedForwarder(["http://a": leader, "http://b": .answer])
        let path = ClusterPath(coordinator: follower, forwarder: forwarder, metrics: world.metrics, clock: world.clock)
        let answer = Mutex<String?>(nil)
        let request = Task {
            let text = try await path.answer(Self.pick, body: ByteBuffer(), decide: { _ in "decided by f" }) { String(buffer: $0.body) }
            answer.withLock { $0 = text }
        }
        defer { request.cancel() }
        #expect(await world.settle(until: { forwarder.sent.withLock { $0 } == ["http://a"] }), "the pick went to a first")
        // a's lease lapses at 600 ms; b takes it.
        let answered = await world.driveRounds([b, follower], until: { answer.withLock { $0 } != nil })
        return TakeoverRun(
            answered: answered, answer: answer.withLock { $0 }, sent: forwarder.sent.withLock { $0 },
            forwards: world.metrics.forwards.withLock { $0 }, b: b)
    }

    @Test("a frozen leader's forward is abandoned once another instance leads, and goes there")
    func frozenLeadersForwardIsAbandoned() async throws {
        let run = await Self.pickDuringTakeover(leader: .frozen)
        #expect(run.answered, "the pick was answered while a stayed frozen")
        #expect(run.answer == "answered by http://b")
        #expect(run.sent == ["http://a", "http://b"])
        #expect(run.forwards == ["leader_changed", "ok"])
    }

    @Test("a pick forwarded during a takeover goes to the new leader, once")
    func forwardDuringTakeoverGoesToTheNewLeader() async throws {
        let run = await Self.pickDuringTakeover(leader: .unreachable)
        #expect(run.answered)
        #expect(run.answer == "answered by http://b")
        #expect(run.sent == ["http://a", "http://b"], "to the new leader exactly once")
        #expect(run.forwards == ["unreachable", "ok"])
        #expect(run.b.route() == .decide(fencing: 2))
    }

    @Test("the replicator's outbox per member: a frozen member delays nobody else's batches")
    func frozenMemberDelaysNobody() async throws {
        let world = ClusterWorld()
        let sender = MemberSender(frozen: "http://frozen")
        let replicator = ReservationReplicator(
            selfURL: "http://self", peers: { ["http://frozen", "http://b"] }, sender: sender, metrics: world.metrics, clock: world.clock)
        let run = Task { try await replicator.run() }
        defer { run.cancel() }

        replicator.made(Pick(server: "http://s1", available: 3, workers: 16, reservationID: "r1"))
        #expect(await world.drive(until: { sender.batches(to: "http://b").count == 1 }))
        replicator.released(id: "r1", reason: .busy)
        replicator.made(Pick(server: "http://s2", available: 5, workers: 16, reservationID: "r2"))
        #expect(await world.drive(until: { sender.batches(to: "http://b").count == 2 }), "b's second batch left while the frozen member still held its first")

        let toB = sender.batches(to: "http://b")
        #expect(toB.first?["made"] as? [[String: String]] == [["id": "r1", "server": "http://s1"]])
        #expect(toB.last?["released"] as? [[String: String]] == [["id": "r1", "reason": "busy"]])
        #expect(toB.last?["made"] as? [[String: String]] == [["id": "r2", "server": "http://s2"]])
        #expect(toB.allSatisfy { $0["from"] as? String == "http://self" })
        #expect(sender.batches(to: "http://frozen").count == 1, "the frozen member's first send has not returned")
    }
}

/// Takes batches for every member; the frozen one's first send never returns (until cancelled).
final class MemberSender: ReservationSending {
    let frozen: String
    private let received = Mutex<[String: [ByteBuffer]]>([:])

    init(frozen: String) {
        self.frozen = frozen
    }

    func send(_ batch: ByteBuffer, to member: String) async -> Bool {
        received.withLock { $0[member, default: []].append(batch) }
        if member == frozen {
            try? await Task.sleep(for: .seconds(3_600))
            return false
        }
        return true
    }

    /// The batches sent to `member`, decoded.
    func batches(to member: String) -> [[String: Any]] {
        received.withLock { $0[member] ?? [] }.map { json($0) }
    }
}
