import DispatchTestSupport
import FleetPicker
import Testing

/// Slow start (`--slow-start-ms`): a server that becomes pickable again takes a share of its free
/// workers that rises from a tenth to all over the window.
@Suite("Slow start")
struct SlowStartTests {
    /// s0 comes back up at 10 s with 16 free beside s1…s3 with 4 each; every reading is fresh at
    /// `at`. Returns the fleet at that moment.
    static func fleetWithServerBack(window: Duration, at instant: TestInstant) -> Fleet {
        var fleet = Fleet(configuration: .init(rise: 2, slowStart: window))
        fleet.setServers(names(4))
        for server in names(4) { fleet.report(server, healthy(server == "s0" ? 16 : 4), at: ms(0)) }
        for step in 1...3 { fleet.report("s0", .failed(reason: "timeout"), at: ms(step * 1_000)) }
        #expect(fleet.state(of: "s0") == .down)
        fleet.report("s0", healthy(16), at: ms(9_000))
        fleet.report("s0", healthy(16), at: ms(10_000))
        #expect(fleet.state(of: "s0") == .up, "back up at 10 s")
        for server in names(4) { fleet.report(server, healthy(server == "s0" ? 16 : 4), at: instant) }
        return fleet
    }

    /// The servers that 20 picks at `instant` went to.
    static func twentyPicks(_ fleet: inout Fleet, at instant: TestInstant) -> [String] {
        var random = FleetRandomSource(seed: 7)
        return (0..<20).compactMap { _ in fleet.pick(arrivedAt: instant, now: instant, random: &random).pick?.server }
    }

    @Test("resumed beside three busy servers, window 20 s: of 20 picks in its first 2 s it takes 2, as the formula says")
    func rampHoldsBackTheServerThatCameBack() {
        var fleet = Self.fleetWithServerBack(window: .seconds(20), at: ms(11_900))
        let picks = Self.twentyPicks(&fleet, at: ms(12_000))
        #expect(picks.count { $0 == "s0" } == 2, "max(1, ceil(16 × max(0.1, 2/20))) = 2")
        #expect(picks.count == 14, "the others' 12 and s0's 2; six picks find no capacity")
    }

    @Test("with the ramp off the server that came back takes 12 or more of the 20, as before")
    func withoutRampTheEmptiestServerTakesTheCalls() {
        var fleet = Self.fleetWithServerBack(window: .zero, at: ms(11_900))
        let picks = Self.twentyPicks(&fleet, at: ms(12_000))
        #expect(picks.count { $0 == "s0" } >= 12)
        #expect(fleet.snapshot()[0].slowStartSince == nil)
    }

    @Test("the share rises with the window: half way through, half of its free workers")
    func shareRisesLinearly() {
        var fleet = Self.fleetWithServerBack(window: .seconds(20), at: ms(19_900))
        let picks = Self.twentyPicks(&fleet, at: ms(20_000))
        #expect(picks.count { $0 == "s0" } == 8, "ceil(16 × 10/20) = 8")
        var later = Self.fleetWithServerBack(window: .seconds(20), at: ms(30_100))
        #expect(later.snapshot()[0].slowStartSince == nil, "the window has passed: the ramp is over")
        #expect(Self.twentyPicks(&later, at: ms(30_200)).count { $0 == "s0" } >= 12)
    }

    @Test("the floor: a server with 3 free takes at least one call at once")
    func floorIsOneCall() {
        var fleet = Fleet(configuration: .init(slowStart: .seconds(20)))
        fleet.setServers(["a"])
        fleet.report("a", healthy(3, status: "draining"), at: ms(0))
        fleet.report("a", healthy(3), at: ms(100))
        #expect(fleet.state(of: "a") == .up)
        var random = FleetRandomSource(seed: 1)
        let first = fleet.pick(arrivedAt: ms(150), now: ms(150), random: &random)
        #expect(first.pick?.available == 1, "back from draining: ramped")
        let passed = fleet.pick(arrivedAt: ms(160), now: ms(160), random: &random).passedOver
        #expect(passed?.first?.reason == "slow start: ramping up after coming back")
    }

    @Test("servers of the first list are the fleet as found; a server added later ramps up")
    func onlyServersAddedLaterRamp() {
        var fleet = Fleet(configuration: .init(slowStart: .seconds(20)))
        fleet.setServers(["a"])
        fleet.report("a", healthy(16), at: ms(0))
        #expect(fleet.snapshot()[0].slowStartSince == nil, "the first list: no slow start")
        fleet.setServers(["a", "b"])
        fleet.report("b", healthy(16), at: ms(100))
        let b = fleet.snapshot()[1]
        #expect(b.slowStartSince == ms(100), "added later: slow start from its first good reading")
        fleet.report("a", healthy(16), at: ms(150))
        var random = FleetRandomSource(seed: 3)
        let picks = (0..<20).compactMap { _ in fleet.pick(arrivedAt: ms(200), now: ms(200), random: &random).pick?.server }
        #expect(picks.count { $0 == "b" } == 2, "ceil(16 × 0.1) = 2 of the 18 placed")
        #expect(picks.count == 18)
    }

    @Test("the formula", arguments: [
        (16, 0, 2), (16, 2_000, 2), (16, 3_000, 3), (16, 10_000, 8), (16, 19_999, 16), (16, 20_000, 16), (1, 0, 1), (0, 0, 0),
    ])
    func formula(available: Int, elapsedMilliseconds: Int, expected: Int) {
        var fleet = Fleet(configuration: .init(slowStart: .seconds(20)))
        fleet.setServers(["a"])
        fleet.report("a", healthy(available, status: "draining"), at: ms(0))
        fleet.report("a", healthy(available), at: ms(1_000))
        fleet.report("a", healthy(available), at: ms(1_000 + elapsedMilliseconds))
        var random = FleetRandomSource(seed: 1)
        let at = ms(1_000 + elapsedMilliseconds)
        let usable = (0..<20).compactMap { _ in fleet.pick(arrivedAt: at, now: at, random: &random).pick }.count
        #expect(usable == expected)
    }
}
