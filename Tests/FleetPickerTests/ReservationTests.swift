import DispatchTestSupport
import FleetPicker
import Testing

@Suite("Reservations")
struct ReservationTests {
    @Test func releaseDropsAReservationOnceAndUnknownIDsAreRefused() throws {
        var fleet = Fleet.withReadings([5])
        var random = FleetRandomSource(seed: 1)
        let pick = try #require(fleet.pick(arrivedAt: ms(1), now: ms(1), random: &random).pick)
        #expect(fleet.reserved("s0") == 1)
        #expect(performed(fleet.release(reservationID: pick.reservationID, now: ms(2))))
        #expect(fleet.reserved("s0") == 0)
        #expect(!performed(fleet.release(reservationID: pick.reservationID, now: ms(2))))
        #expect(!performed(fleet.release(reservationID: "nope", now: ms(2))))
        #expect(!performed(fleet.release(reservationID: String(repeating: "0", count: 32), now: ms(2))))
        #expect(pick.reservationID.count == 32)
        #expect(fleet.release(reservationID: "x", now: ms(2)) == false)
    }

    @Test func upperCaseIDsAreAccepted() throws {
        var fleet = Fleet.withReadings([5])
        var random = FleetRandomSource(seed: 1)
        let pick = try #require(fleet.pick(arrivedAt: ms(1), now: ms(1), random: &random).pick)
        #expect(performed(fleet.release(reservationID: pick.reservationID.uppercased(), now: ms(2))))
    }

    @Test func reservationIDsAreUnique() {
        var fleet = Fleet.withReadings([1_000, 1_000])
        // A constant generator: uniqueness must not rest on randomness.
        struct Constant: RandomNumberGenerator { mutating func next() -> UInt64 { 42 } }
        var random = Constant()
        let ids = (0..<500).compactMap { _ in fleet.pick(arrivedAt: ms(1), now: ms(1), random: &random).pick?.reservationID }
        #expect(ids.count == 500)
        #expect(Set(ids).count == 500)
    }

    @Test func aGoodProbeStartedSettleAfterTheReservationSettlesIt() {
        var fleet = Fleet.withReadings([5], at: ms(0), configuration: .init(freshness: .seconds(5)))
        var random = FleetRandomSource(seed: 1)
        _ = fleet.pick(arrivedAt: ms(100), now: ms(100), random: &random)
        _ = fleet.pick(arrivedAt: ms(600), now: ms(600), random: &random)
        // Started 999 ms after the first: its report may not include the call yet.
        fleet.recordProbe(server: "s0", startedAt: ms(1_099), finishedAt: ms(1_200), result: healthy(4))
        #expect(fleet.reserved("s0") == 2)
        fleet.recordProbe(server: "s0", startedAt: ms(1_100), finishedAt: ms(1_200), result: healthy(4))
        #expect(fleet.reserved("s0") == 1)
        // A failed probe settles nothing.
        fleet.recordProbe(server: "s0", startedAt: ms(1_700), finishedAt: ms(1_800), result: .failed(reason: "timeout"))
        #expect(fleet.reserved("s0") == 1)
        fleet.recordProbe(server: "s0", startedAt: ms(1_800), finishedAt: ms(1_900), result: healthy(3))
        #expect(fleet.reserved("s0") == 0)
    }

    @Test func reservationsExpireAfterTheTTLInAnyCase() {
        var fleet = Fleet.withReadings([5], at: ms(0), configuration: .init(freshness: .seconds(60)))
        var random = FleetRandomSource(seed: 1)
        _ = fleet.pick(arrivedAt: ms(0), now: ms(0), random: &random)
        _ = fleet.pick(arrivedAt: ms(5_000), now: ms(5_000), random: &random)
        _ = fleet.pick(arrivedAt: ms(9_999), now: ms(9_999), random: &random)
        #expect(fleet.reserved("s0") == 3)
        // Any mutation that sees the time prunes: a release of an unknown id here.
        _ = fleet.release(reservationID: "unknown", now: ms(10_000))
        #expect(fleet.reserved("s0") == 2)
        _ = fleet.release(reservationID: "unknown", now: ms(15_000))
        #expect(fleet.reserved("s0") == 1)
        // 9,999 + 10,000: the last one is alive 1 ms before its expiry and gone at it.
        #expect(fleet.pick(arrivedAt: ms(19_998), now: ms(19_998), random: &random).pick?.available == 4)
        #expect(fleet.reserved("s0") == 2)
        _ = fleet.release(reservationID: "unknown", now: ms(19_999))
        #expect(fleet.reserved("s0") == 1)
    }

    @Test func reservationsOfADownServerStillExpire() {
        var fleet = Fleet.withReadings([5], configuration: .init(fall: 1))
        var random = FleetRandomSource(seed: 1)
        _ = fleet.pick(arrivedAt: ms(0), now: ms(0), random: &random)
        fleet.report("s0", .failed(reason: "timeout"), at: ms(100))
        fleet.report("s0", .failed(reason: "timeout"), at: ms(10_000))
        #expect(fleet.reserved("s0") == 0)
    }

    @Test func effectiveAvailableNeverGoesNegative() {
        var fleet = Fleet.withReadings([3], configuration: .init(freshness: .seconds(60)))
        var random = FleetRandomSource(seed: 1)
        var picked: [Int] = []
        for step in 0..<10 {
            if let pick = fleet.pick(arrivedAt: ms(step), now: ms(step), random: &random).pick { picked.append(pick.available) }
        }
        #expect(picked == [3, 2, 1])
        #expect(fleet.reserved("s0") == 3)
        // The server now reports fewer free than we reserved: still full, not negative.
        fleet.recordProbe(server: "s0", startedAt: ms(50), finishedAt: ms(50), result: healthy(1))
        #expect(fleet.pick(arrivedAt: ms(60), now: ms(60), random: &random).passedOver?.first?.reason == "full")
    }
}

@Suite("Fleet list changes")
struct ListChangeTests {
    @Test func serversThatStayKeepTheirStateNewOnesAreUnknownRemovedOnesGo() throws {
        var fleet = Fleet.withReadings([5, 7], configuration: .init(freshness: .seconds(60)))
        var random = FleetRandomSource(seed: 1)
        let onS1 = try #require(fleet.pick(arrivedAt: ms(1), now: ms(1), random: &random).pick)
        let onS0 = try #require(fleet.pick(excluding: ["s1"], arrivedAt: ms(1), now: ms(1), random: &random).pick)
        #expect(performed(fleet.setServers(["s9", "s1"])))
        let snapshot = fleet.snapshot()
        #expect(snapshot.map(\.url) == ["s9", "s1"])
        #expect(snapshot.map(\.state) == [.unknown, .up])
        #expect(snapshot[1].reserved == 1)
        #expect(fleet.reservationCount == 1)
        #expect(!performed(fleet.release(reservationID: onS0.reservationID, now: ms(2))))
        #expect(performed(fleet.release(reservationID: onS1.reservationID, now: ms(2))))
        // Removed and re-added: back to unknown, no memory of the old readings.
        fleet.setServers(["s9", "s1", "s0"])
        #expect(fleet.state(of: "s0") == .unknown)
    }

    @Test func anUnchangedListReportsNoChangeAndDuplicatesCountOnce() {
        var fleet = Fleet.withReadings([5, 7])
        #expect(!performed(fleet.setServers(["s0", "s1"])))
        #expect(performed(fleet.setServers(["s1", "s0", "s1"])))
        #expect(fleet.snapshot().map(\.url) == ["s1", "s0"])
        #expect(fleet.snapshot().map(\.state) == [.up, .up])
    }

    @Test func aResultForARemovedServerIsIgnored() {
        var fleet = Fleet()
        fleet.setServers(["a"])
        _ = fleet.planProbes(arrivedAt: ms(0), now: ms(0))
        fleet.setServers([])
        #expect(fleet.recordProbe(server: "a", startedAt: ms(0), finishedAt: ms(1), result: healthy(3)) == nil)
        #expect(fleet.snapshot().isEmpty)
    }
}

@Suite("Releases a cluster member sends")
struct MemberReleaseTests {
    static let leader = "http://10.0.0.1:8080"
    static let other = "http://10.0.0.2:8080"
    static let id = "0123456789abcdef0123456789abcdef"

    @Test("a member releases only what it made; the leader releases anything; refused ones stay reserved")
    func onlyTheirsUnlessLeading() throws {
        var fleet = Fleet.withReadings([5])
        let adopted = fleet.adoptReservation(id: Self.id, server: "s0", origin: Self.leader, now: ms(1))
        #expect(adopted && fleet.reserved("s0") == 1)

        var outcome = fleet.release(reservationID: Self.id, reason: .notPlaced, from: Self.other, memberLeads: false, now: ms(2))
        #expect(outcome == .notTheirs)
        #expect(fleet.reserved("s0") == 1, "a refused release changes nothing")
        outcome = fleet.release(reservationID: Self.id, reason: .notPlaced, from: Self.leader, memberLeads: false, now: ms(2))
        #expect(outcome == .released(ReleaseResult(server: "s0")))
        #expect(fleet.reserved("s0") == 0)
        outcome = fleet.release(reservationID: Self.id, reason: .notPlaced, from: Self.leader, memberLeads: false, now: ms(3))
        #expect(outcome == .unknown)

        // This instance's own reservation: only the member that leads now may release it (a
        // caller's release that reached the leader after this instance lost the lease).
        var random = FleetRandomSource(seed: 1)
        let own = try #require(fleet.pick(arrivedAt: ms(4), now: ms(4), random: &random).pick)
        outcome = fleet.release(reservationID: own.reservationID, reason: .notPlaced, from: Self.other, memberLeads: false, now: ms(5))
        #expect(outcome == .notTheirs)
        #expect(fleet.reserved("s0") == 1)
        outcome = fleet.release(reservationID: own.reservationID, reason: .notPlaced, from: Self.other, memberLeads: true, now: ms(5))
        #expect(outcome == .released(ReleaseResult(server: "s0")))
        #expect(fleet.reserved("s0") == 0)
    }
}
