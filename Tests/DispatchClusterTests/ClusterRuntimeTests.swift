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

    /// Three instances that lead, then a's database link stalls (round trips neither answer
    /// nor fail), b and c still reaching the database and a; the clock moves 10 ms a step, b and
    /// c ask the database every 100 ms, a asks its peers every step. What a's route was at each
    /// step, and when others decided.
    struct PartitionRun {
        /// When a last decided under its term, when another first did, and when a first
        /// forwarded to the new leader; ms after the stall began.
        var aLastLed: Int?, otherFirstLed: Int?, aForwarded: Int?
        /// a decided alone, or two decided under the lease at one step.
        var aDecidedAlone = false, twoDeciders = false
        var newLeader: String?
        var route: ClusterRoute?
        var forwardedAnswer: String?
    }

    static func partitionLeaderFromDatabase(peersReachable: Bool, failFast: Bool = false) async -> PartitionRun {
        let world = ClusterWorld()
        let peers = WorldPeers()
        let (a, aStore) = world.instance("a", peers: peers)
        let (b, _) = world.instance("b", peers: peers)
        let (c, _) = world.instance("c", peers: peers)
        peers.add([a, b, c])
        if !peersReachable { peers.cutOff.withLock { $0 = ["http://b", "http://c"] } }
        for instance in [a, b, c] { await instance.leaseRound() }
        // Twice: each reads the rows of those that wrote before it.
        for _ in 0..<2 { for instance in [a, b, c] { await instance.heartbeatRound() } }
        #expect(a.route() == .decide(fencing: 1))

        if failFast {
            // Refused at once instead (a reset link): evidence of an outage at every round trip.
            aStore.reachable.store(false, ordering: .relaxed)
        } else {
            aStore.hanging.store(true, ordering: .relaxed)
        }
        let stalled = Task { if !failFast { await a.leaseRound() } }
        defer { stalled.cancel() }
        if !failFast { await world.settle { aStore.waiting.load(ordering: .relaxed) == 1 } }
        var run = PartitionRun()
        var elapsed = 0
        await world.drive(step: .milliseconds(10), limit: 300, until: { elapsed >= 1_500 }) {
            if elapsed % 100 == 0, elapsed > 0 { for instance in failFast ? [a, b, c] : [b, c] { await instance.leaseRound() } }
            await a.askPeers()
            let others = [b, c].filter { if case .decide = $0.route() { true } else { false } }
            switch a.route() {
            case .decide(fencing: 1?):
                run.aLastLed = elapsed
                if !others.isEmpty { run.twoDeciders = true }
            case .decide(fencing: nil):
                run.aDecidedAlone = true
            case .forward(let url) where url != "http://a":
                run.aForwarded = run.aForwarded ?? elapsed
            default:
                break
            }
            if let other = others.first, run.otherFirstLed == nil {
                run.otherFirstLed = elapsed
                run.newLeader = other.selfURL
            }
            elapsed += 10
        }
        run.route = a.route()
        // A pick through a's path now: answered by the leader it forwards to.
        let forwarder = ScriptedForwarder(["http://b": .answer, "http://c": .answer])
        let path = ClusterPath(coordinator: a, forwarder: forwarder, metrics: world.metrics, clock: world.clock)
        if case .forward = run.route {
            run.forwardedAnswer = try? await path.answer(Self.pick, body: ByteBuffer(), decide: { _ in "decided by a" }) { String(buffer: $0.body) }
        }
        return run
    }

    @Test("a leader cut off from the database but not from the others stops leading before another takes over, waits, then forwards to the new leader: never two deciders, never alone")
    func partitionedLeaderForwards() async throws {
        let run = await Self.partitionLeaderFromDatabase(peersReachable: true)
        print("partition: a led until \(run.aLastLed ?? -1) ms after the stall, \(run.newLeader ?? "nobody") from \(run.otherFirstLed ?? -1) ms, a forwards to it from \(run.aForwarded ?? -1) ms")
        let lastLed = try #require(run.aLastLed), otherLed = try #require(run.otherFirstLed), forwarded = try #require(run.aForwarded)
        #expect(!run.twoDeciders && lastLed < otherLed, "a led until \(lastLed) ms, another from \(otherLed) ms")
        #expect(lastLed <= 540, "a's term ends ttl − margin after its last round trip began")
        #expect(!run.aDecidedAlone, "a could reach a leader: it never decides alone")
        #expect(forwarded <= otherLed + 20, "a forwards to the new leader within two steps of its taking over")
        #expect(run.route == .forward(leaderURL: run.newLeader!))
        #expect(run.forwardedAnswer == "answered by \(run.newLeader!)")
    }

    @Test("the same with round trips that fail at once: a waits for the takeover the others still expect, then forwards; it never decides alone")
    func partitionedLeaderForwardsFailingFast() async throws {
        let run = await Self.partitionLeaderFromDatabase(peersReachable: true, failFast: true)
        let lastLed = try #require(run.aLastLed), otherLed = try #require(run.otherFirstLed)
        #expect(!run.twoDeciders && lastLed < otherLed)
        #expect(!run.aDecidedAlone, "the others still saw a's lease, then a new leader: a had no reason to decide alone")
        #expect(run.forwardedAnswer == "answered by \(run.newLeader ?? "?")")
    }

    @Test("the database black-holed for every instance: a round trip under way past its bound is evidence of the outage, and each decides alone")
    func blackHoledDatabaseDegrades() async {
        let world = ClusterWorld()
        let (a, aStore) = world.instance("a")
        let (b, bStore) = world.instance("b")
        await a.leaseRound()
        await b.leaseRound()
        for store in [aStore, bStore] { store.hanging.store(true, ordering: .relaxed) }
        let rounds = [Task { await a.leaseRound() }, Task { await b.leaseRound() }]
        defer { rounds.forEach { $0.cancel() } }
        await world.settle { aStore.waiting.load(ordering: .relaxed) == 1 && bStore.waiting.load(ordering: .relaxed) == 1 }
        var elapsed = 0
        var firstAlone: Int?
        await world.drive(step: .milliseconds(10), limit: 200, until: { firstAlone != nil }) {
            await a.askPeers()
            await b.askPeers()
            if a.route() == .decide(fencing: nil), b.route() == .decide(fencing: nil) { firstAlone = elapsed }
            elapsed += 10
        }
        // The term ends 540 ms after the last answered round trip began; nothing else answers.
        let alone = firstAlone ?? -1
        #expect(alone >= 540 && alone <= 600, "both decide alone from \(alone) ms")
    }

    @Test("a process stopped with a round trip under way does not take its own silence for an outage when it resumes")
    func stoppedProcessDoesNotDegrade() async {
        let world = ClusterWorld()
        let (a, aStore) = world.instance("a")
        await a.leaseRound()
        await a.askPeers()
        aStore.hanging.store(true, ordering: .relaxed)
        let round = Task { await a.leaseRound() }
        defer { round.cancel() }
        await world.settle { aStore.waiting.load(ordering: .relaxed) == 1 }
        // Stopped for 5 s: no tick, the round trip still under way.
        world.clock.advance(by: .seconds(5))
        #expect(a.route() == .wait, "at once after resuming")
        await a.askPeers()
        #expect(a.route() == .wait, "after its first tick: the round trip began before it was stopped")
        // Running again, a round trip that began before the stop still proves nothing.
        for _ in 0..<50 {
            world.clock.advance(by: .milliseconds(10))
            await a.askPeers()
        }
        #expect(a.route() == .wait)
    }

    @Test("cut off from the database and from the others: a stops leading at its term's end and never forwards")
    func partitionedLeaderAlone() async throws {
        let run = await Self.partitionLeaderFromDatabase(peersReachable: false)
        #expect(!run.twoDeciders)
        #expect((run.aLastLed ?? 0) <= 540)
        #expect(run.aForwarded == nil)
        // Its round trip has hung past its bound while it ran: reaching nobody, it decides alone.
        #expect(run.route == .decide(fencing: nil))
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

    @Test("a leader alive but out of one follower's reach: after a takeover's wait the pick is relayed through another member, the next ones at once, until the leader answers again")
    func unreachableLeaderIsRelayedAround() async throws {
        let world = ClusterWorld()
        let peers = WorldPeers()
        let (a, _) = world.instance("a")
        let (b, _) = world.instance("b")
        let (follower, _) = world.instance("f", peers: peers)
        peers.add([a, b])
        await a.leaseRound()
        await b.leaseRound()
        await follower.leaseRound()
        for instance in [a, b, follower] { await instance.heartbeatRound() }
        peers.cutOff.withLock { $0 = ["http://a"] }
        #expect(follower.route() == .forward(leaderURL: "http://a"))

        let forwarder = ScriptedForwarder(["http://a": .unreachable, "http://b": .answer])
        let path = ClusterPath(coordinator: follower, forwarder: forwarder, metrics: world.metrics, clock: world.clock)
        let answer = Mutex<String?>(nil)
        let request = Task {
            let text = try await path.answer(Self.pick, body: ByteBuffer(), decide: { _ in "decided by f" }) { String(buffer: $0.body) }
            answer.withLock { $0 = text }
        }
        defer { request.cancel() }
        // a renews its lease all along: it is alive, only out of f's reach.
        let answered = await world.driveRounds([a, b, follower], until: { answer.withLock { $0 } != nil })
        #expect(answered)
        #expect(answer.withLock { $0 } == "relayed by http://b")
        #expect(forwarder.sent.withLock { $0 } == ["http://a", "relay:http://b"])
        #expect(a.route() == .decide(fencing: 1), "a still leads, under its first term")
        #expect(follower.isUnreachable("http://a"))

        // The next pick goes through b at once, without trying a again.
        let next = try await path.answer(Self.pick, body: ByteBuffer(), decide: { _ in "decided by f" }) { String(buffer: $0.body) }
        #expect(next == "relayed by http://b")
        #expect(forwarder.sent.withLock { $0 } == ["http://a", "relay:http://b", "relay:http://b"])
        #expect(world.metrics.forwards.withLock { $0 } == ["unreachable", "relayed", "relayed"])

        // Still out of reach: it stays so; once a answers a question again, f forgets it.
        await follower.recheckUnreachableLeader()
        #expect(follower.isUnreachable("http://a"))
        peers.cutOff.withLock { $0 = [] }
        await follower.recheckUnreachableLeader()
        #expect(!follower.isUnreachable("http://a"))
    }

    @Test("a request relayed to a member is never relayed again: out of reach there too, it waits and ends with no leader")
    func relayedRequestIsNotRelayedAgain() async throws {
        let world = ClusterWorld()
        let (a, _) = world.instance("a")
        let (b, _) = world.instance("b")
        let (member, _) = world.instance("m")
        await a.leaseRound()
        await b.leaseRound()
        await member.leaseRound()
        for instance in [a, b, member] { await instance.heartbeatRound() }
        let forwarder = ScriptedForwarder(["http://a": .unreachable, "http://b": .answer])
        let path = ClusterPath(coordinator: member, forwarder: forwarder, metrics: world.metrics, clock: world.clock)
        var relayed = Self.pick
        relayed.headerFields[ClusterForwarder.relayedHeader] = "http://f"
        let outcome = Mutex<String?>(nil)
        let request = Task {
            do {
                _ = try await path.answer(relayed, body: ByteBuffer(), decide: { _ in "decided by m" }) { String(buffer: $0.body) }
                outcome.withLock { $0 = "answered" }
            } catch {
                outcome.withLock { $0 = "\(error)" }
            }
        }
        defer { request.cancel() }
        #expect(await world.driveRounds([a, b, member], until: { outcome.withLock { $0 } != nil }))
        #expect(outcome.withLock { $0 } == "\(ClusterPathError.noLeader)")
        #expect(forwarder.sent.withLock { $0 }.allSatisfy { $0 == "http://a" }, "only ever to the leader: \(forwarder.sent.withLock { $0 })")
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
