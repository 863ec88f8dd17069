import DispatchTestSupport
import FleetPicker
import Testing

/// Operator states (`fleet drain|maintenance|resume`) in the decision core.
@Suite("Operator states: draining and maintenance")
struct OperatorStateTests {
    @Test("a drained server is never picked, picks do not wait for it, and the answer says why")
    func drainedIsNeverPicked() throws {
        var fleet = Fleet.withReadings([16, 4])
        let changes = fleet.setOperatorStates(["s0": .draining, "not-listed": .maintenance], now: ms(1))
        #expect(changes == [OperatorStateChange(server: "s0", from: .active, to: .draining)])
        var random = FleetRandomSource(seed: 1)
        for _ in 0..<4 {
            #expect(fleet.pick(arrivedAt: ms(2), now: ms(2), random: &random).pick?.server == "s1")
        }
        let passed = try #require(fleet.pick(arrivedAt: ms(3), now: ms(3), random: &random).passedOver)
        #expect(passed[0].reason == "draining (operator): no new dialouts")
        // Its reading going stale makes no pick wait: only s1's does.
        fleet.report("s1", healthy(4), at: ms(1_000))
        #expect(!fleet.needsProbes(arrivedAt: ms(1_001)))
        #expect(fleet.planProbes(arrivedAt: ms(1_001), now: ms(1_001)).probe.isEmpty)
        #expect(fleet.snapshot()[0].operatorState == .draining)
    }

    @Test("draining: probes go on as before, so its calls can be watched")
    func drainingKeepsItsRefresh() {
        var fleet = Fleet.withReadings([16, 4], configuration: .init(freshness: .milliseconds(250)))
        fleet.setOperatorStates(["s0": .draining], now: ms(0))
        var random = FleetRandomSource(seed: 2)
        let plan = fleet.backgroundProbes(now: ms(200), random: &random)
        #expect(plan.probe.contains("s0"), "refreshed ahead like any server that is not down")
        fleet.report("s0", healthy(3), at: ms(210))
        #expect(fleet.snapshot()[0].activeCalls == 29, "its active calls are still read")
    }

    @Test("maintenance: failed probes take it nowhere and it is probed at the down interval")
    func maintenanceFailuresCountTowardNothing() {
        var fleet = Fleet.withReadings([16, 4], configuration: .init(fall: 3, downInterval: .seconds(1)))
        fleet.setOperatorStates(["s0": .maintenance], now: ms(100))
        for step in 1...10 {
            #expect(fleet.report("s0", .failed(reason: "connect error"), at: ms(100 + step * 1_000)) == nil, "no state change, no alarm")
        }
        #expect(fleet.state(of: "s0") == .up)
        #expect(fleet.snapshot()[0].consecutiveFailures == 0)
        var random = FleetRandomSource(seed: 3)
        var fresh = Fleet.withReadings([16, 4], configuration: .init(downInterval: .seconds(1)))
        fresh.setOperatorStates(["s0": .maintenance], now: ms(0))
        #expect(!fresh.backgroundProbes(now: ms(500), random: &random).probe.contains("s0"), "not refreshed ahead")
        #expect(fresh.backgroundProbes(now: ms(1_200), random: &random).probe.contains("s0"), "probed within the down interval's jitter")
    }

    @Test("resume: pickable at once, with a slow start when one is set; out of maintenance it is probed at once")
    func resume() {
        var fleet = Fleet.withReadings([16, 4], configuration: .init(downInterval: .seconds(1), slowStart: .seconds(20)))
        fleet.setOperatorStates(["s0": .maintenance], now: ms(0))
        let changes = fleet.setOperatorStates([:], now: ms(100))
        #expect(changes == [OperatorStateChange(server: "s0", from: .maintenance, to: .active)])
        var random = FleetRandomSource(seed: 4)
        #expect(fleet.backgroundProbes(now: ms(100), random: &random).probe.contains("s0"), "due at once")
        fleet.report("s0", healthy(16), at: ms(150))
        fleet.report("s1", healthy(4), at: ms(150))
        let picks = (0..<20).compactMap { _ in fleet.pick(arrivedAt: ms(160), now: ms(160), random: &random).pick?.server }
        #expect(picks.count { $0 == "s0" } == 2, "resumed: ramping from a tenth of 16")
        #expect(fleet.snapshot()[0].slowStartSince == ms(100))
    }

    @Test("the cap on callers' reports leaves out servers an operator holds")
    func operatorHeldServersAreNotHealthyForTheCap() {
        var fleet = Fleet.withReadings(Array(repeating: 16, count: 4), configuration: .init(maxHeldPercent: 50))
        fleet.setOperatorStates(["s0": .draining, "s1": .maintenance], now: ms(0))
        // Two servers take calls: max(1, floor(2 × 0.5)) = 1 may be held by callers' reports.
        var random = FleetRandomSource(seed: 5)
        var capped = 0
        for _ in 0..<10 {
            guard let pick = fleet.pick(arrivedAt: ms(1), now: ms(1), random: &random).pick else { break }
            let result = fleet.release(reservationID: pick.reservationID, reason: .failed, now: ms(1))
            if let cap = result?.capped {
                #expect(cap.healthy == 2 && cap.limit == 1)
                capped += 1
            }
        }
        #expect(capped > 0)
        #expect(fleet.snapshot().count { $0.heldBy == .failed } == 1)
    }
}
