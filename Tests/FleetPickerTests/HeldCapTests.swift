import DispatchTestSupport
import FleetPicker
import Testing

/// The cap on what callers' `failed` reports may hold back (`--max-held-percent`): one caller
/// whose own network is broken cannot take the whole fleet out of the picks.
@Suite("The cap on servers held back by callers' reports")
struct HeldCapTests {
    /// 8 healthy servers with 16 free each, read at `at`.
    static func eightServers(percent: Int = 50, at instant: TestInstant = ms(0)) -> Fleet {
        Fleet.withReadings(Array(repeating: 16, count: 8), at: instant, configuration: .init(maxHeldPercent: percent))
    }

    /// Picks and at once releases `failed`, `count` times at `at`; returns the results.
    static func misbehave(_ fleet: inout Fleet, count: Int, at instant: TestInstant) -> [ReleaseResult] {
        var random = FleetRandomSource(seed: 11)
        return (0..<count).compactMap { _ in
            guard let pick = fleet.pick(arrivedAt: instant, now: instant, random: &random).pick else { return nil }
            return fleet.release(reservationID: pick.reservationID, reason: .failed, now: instant)
        }
    }

    @Test("a caller releasing failed for every pick holds back at most 4 of 8 servers, and picks go on")
    func misbehavingCallerHoldsBackAtMostHalf() {
        var fleet = Self.eightServers()
        let results = Self.misbehave(&fleet, count: 100, at: ms(10))
        let held = fleet.snapshot().filter { $0.heldBy == .failed || $0.state == .down }
        #expect(held.count == 4, "max(1, floor(8 × 50 / 100))")
        #expect(results.count == 100, "every pick of the 100 found a server")
        let capped = results.compactMap(\.capped)
        #expect(!capped.isEmpty)
        #expect(capped.allSatisfy { $0.limit == 4 && $0.held == 4 && $0.healthy == 8 })
        #expect(capped.count { $0.first } == 1, "logged once")
        #expect(fleet.snapshot().reduce(0) { $0 + $1.cappedReports } == capped.count, "counted and shown")
        var random = FleetRandomSource(seed: 12)
        for _ in 0..<20 {
            let outcome = fleet.pick(arrivedAt: ms(11), now: ms(11), random: &random)
            #expect(outcome.pick != nil, "a well-behaved caller's pick")
        }
    }

    @Test("reports on a server already held still count toward fall: the cap is on servers, not reports")
    func heldServerTakesMoreReports() throws {
        var fleet = Self.eightServers(percent: 0)
        var random = FleetRandomSource(seed: 5)
        let others = Set(names(8).dropFirst())
        var picks: [Pick] = []
        for _ in 0..<3 { picks.append(try #require(fleet.pick(excluding: others, arrivedAt: ms(0), now: ms(0), random: &random).pick)) }
        var results: [ReleaseResult] = []
        for pick in picks {
            let result = fleet.release(reservationID: pick.reservationID, reason: .failed, now: ms(1))
            results.append(try #require(result))
        }
        #expect(results.allSatisfy { $0.capped == nil }, "one server, held from the first report on")
        #expect(results.last?.change?.to == .down, "the third report reaches fall")
        // The cap (one server at 0 %) is now taken: a report on another server holds nothing back.
        let other = try #require(fleet.pick(arrivedAt: ms(2), now: ms(2), random: &random).pick)
        let refused = fleet.release(reservationID: other.reservationID, reason: .failed, now: ms(2))
        #expect(refused?.capped == HeldCap(held: 1, limit: 1, healthy: 8, first: true))
    }

    @Test("the limit is max(1, floor(healthy × percent / 100))", arguments: [(50, 4), (0, 1), (100, 8), (25, 2), (30, 2)])
    func limitFollowsThePercent(percent: Int, limit: Int) {
        var fleet = Self.eightServers(percent: percent)
        _ = Self.misbehave(&fleet, count: 60, at: ms(10))
        #expect(fleet.snapshot().count { $0.heldBy == .failed || $0.state == .down } == limit)
    }

    @Test("probes' own verdicts are not capped; servers the probes took down do not count as healthy")
    func probesAreNotCapped() {
        var fleet = Self.eightServers()
        for server in names(8).prefix(6) {
            for step in 1...3 { fleet.report(server, .failed(reason: "timeout"), at: ms(step)) }
        }
        #expect(fleet.snapshot().count { $0.state == .down } == 6, "the probes took six down; no cap on that")
        // Two healthy left: max(1, floor(2 × 0.5)) = 1 may be held by callers.
        let results = Self.misbehave(&fleet, count: 10, at: ms(10))
        #expect(fleet.snapshot().count { $0.heldBy == .failed } == 1)
        #expect(results.contains { $0.capped?.limit == 1 && $0.capped?.healthy == 2 })
    }

    @Test("busy reports are not capped: a full server is capacity")
    func busyIsNotCapped() {
        var fleet = Self.eightServers()
        var random = FleetRandomSource(seed: 3)
        for _ in 0..<8 {
            guard let pick = fleet.pick(arrivedAt: ms(10), now: ms(10), random: &random).pick else { break }
            let result = fleet.release(reservationID: pick.reservationID, reason: .busy, now: ms(10))
            #expect(result != nil && result?.capped == nil)
        }
        #expect(fleet.snapshot().count { $0.heldBy == .busy } == 8)
    }

    @Test("once a held server is cleared by a good probe, the cap has room again and the next refusal is logged anew")
    func capHasRoomAgain() {
        var fleet = Self.eightServers()
        _ = Self.misbehave(&fleet, count: 20, at: ms(10))
        let held = fleet.snapshot().filter { $0.heldBy == .failed }.map(\.url)
        #expect(held.count == 4)
        for server in held { fleet.report(server, healthy(16), at: ms(20)) }
        #expect(fleet.snapshot().allSatisfy { $0.heldBy == nil })
        let again = Self.misbehave(&fleet, count: 20, at: ms(30))
        #expect(again.compactMap(\.capped).count { $0.first } == 1)
    }
}
