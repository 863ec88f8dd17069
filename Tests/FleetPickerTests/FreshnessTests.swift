import DispatchTestSupport
import FleetPicker
import Testing

@Suite("Freshness and probe planning")
struct FreshnessTests {
    @Test func readingServesAPickUpToFreshnessAfterItsProbeStarted() {
        var fleet = Fleet.withReadings([5], at: ms(1_000))
        // Boundary: started exactly 250 ms before the arrival still serves.
        #expect(fleet.planProbes(arrivedAt: ms(1_250), now: ms(1_250)).isEmpty)
        let plan = fleet.planProbes(arrivedAt: ms(1_251), now: ms(1_251))
        #expect(plan.probe == ["s0"])
        #expect(plan.startedAt == ms(1_251))
    }

    @Test func staleReadingIsPassedOverIfTheCallerSkipsThePlan() throws {
        var fleet = Fleet.withReadings([5], at: ms(0))
        var random = FleetRandomSource(seed: 1)
        let list = try #require(fleet.pick(arrivedAt: ms(300), now: ms(300), random: &random).passedOver)
        #expect(list == [PassedOver(url: "s0", state: .up, reason: "no fresh reading")])
    }

    @Test func freshnessZeroNeedsAProbeStartedAtOrAfterArrival() {
        var fleet = Fleet.withReadings([5], at: ms(100), configuration: .init(freshness: .zero))
        #expect(fleet.planProbes(arrivedAt: ms(100), now: ms(100)).isEmpty)
        #expect(fleet.planProbes(arrivedAt: ms(101), now: ms(101)).probe == ["s0"])
        // The probe just planned started at 101: a pick arriving at 101 joins it, one at 102 cannot.
        #expect(fleet.planProbes(arrivedAt: ms(101), now: ms(101)).join == ["s0"])
        #expect(fleet.planProbes(arrivedAt: ms(102), now: ms(102)).probe == ["s0"])
    }

    @Test func aProbeUnderWayThatQualifiesIsJoinedNotDuplicated() {
        var fleet = Fleet(configuration: .init())
        fleet.setServers(["a", "b"])
        let first = fleet.planProbes(arrivedAt: ms(0), now: ms(0))
        #expect(first.probe == ["a", "b"])
        #expect(first.join.isEmpty)
        let second = fleet.planProbes(arrivedAt: ms(100), now: ms(100))
        #expect(second.probe.isEmpty)
        #expect(second.join == ["a", "b"])
        // Once answered, the reading is fresh for later arrivals and nothing is planned.
        fleet.recordProbe(server: "a", startedAt: ms(0), finishedAt: ms(120), result: healthy(3))
        fleet.recordProbe(server: "b", startedAt: ms(0), finishedAt: ms(130), result: healthy(4))
        #expect(fleet.planProbes(arrivedAt: ms(200), now: ms(200)).isEmpty)
    }

    @Test func aFreshFailureIsAnAnswerSoThePlanDoesNotLoop() {
        var fleet = Fleet()
        fleet.setServers(["a"])
        _ = fleet.planProbes(arrivedAt: ms(0), now: ms(0))
        fleet.recordProbe(server: "a", startedAt: ms(0), finishedAt: ms(500), result: .failed(reason: "timeout"))
        #expect(fleet.planProbes(arrivedAt: ms(0), now: ms(500)).isEmpty)
    }

    @Test func excludedAndDownServersAreNotProbedForAPick() {
        var fleet = Fleet()
        fleet.setServers(["a", "b", "c"])
        for step in 0..<3 { fleet.report("c", .failed(reason: "connect"), at: ms(step)) }
        #expect(fleet.state(of: "c") == .down)
        #expect(fleet.planProbes(excluding: ["a"], arrivedAt: ms(10), now: ms(10)).probe == ["b"])
    }

    @Test func needsProbesAgreesWithThePlanAndChangesNothing() {
        var fleet = Fleet()
        fleet.setServers(["a", "b", "c"])
        for step in 0..<3 { fleet.report("c", .failed(reason: "connect"), at: ms(step)) }
        fleet.report("a", healthy(4), at: ms(10))
        // b has never answered: a pick must wait for it, unless it is excluded.
        #expect(fleet.needsProbes(arrivedAt: ms(20)))
        #expect(!fleet.needsProbes(excluding: ["b"], arrivedAt: ms(20)))
        // Asking marks nothing in flight: the plan that follows still probes b (and only b;
        // c is down and picks never wait for it).
        #expect(fleet.needsProbes(arrivedAt: ms(20)))
        #expect(fleet.planProbes(arrivedAt: ms(20), now: ms(20)).probe == ["b"])
        fleet.report("b", healthy(6), at: ms(20))
        #expect(!fleet.needsProbes(arrivedAt: ms(260)))
        #expect(fleet.planProbes(arrivedAt: ms(260), now: ms(260)).isEmpty)
        // Past the freshness of a's reading (taken at 10), a must be probed again.
        #expect(fleet.needsProbes(arrivedAt: ms(261)))
        #expect(fleet.planProbes(arrivedAt: ms(261), now: ms(261)).probe == ["a"])
    }

    @Test func anOlderResultArrivingLateDoesNotMoveFreshnessBack() {
        var fleet = Fleet(configuration: .init(freshness: .zero))
        fleet.setServers(["a"])
        _ = fleet.planProbes(arrivedAt: ms(0), now: ms(0))
        _ = fleet.planProbes(arrivedAt: ms(10), now: ms(10))
        fleet.recordProbe(server: "a", startedAt: ms(10), finishedAt: ms(20), result: healthy(4))
        fleet.recordProbe(server: "a", startedAt: ms(0), finishedAt: ms(30), result: .failed(reason: "timeout"))
        let server = fleet.snapshot()[0]
        #expect(server.lastProbeStart == ms(10))
        #expect(server.lastError == nil)
        #expect(server.consecutiveFailures == 0)
    }
}
