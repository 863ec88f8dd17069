import DispatchTestSupport
import FleetPicker
import Testing

@Suite("Hysteresis and server states")
struct HysteresisTests {
    @Test func firstGoodProbeOfAnUnknownServerMakesItUpOrDraining() {
        var fleet = Fleet()
        fleet.setServers(["a", "b"])
        #expect(fleet.state(of: "a") == .unknown)
        #expect(fleet.report("a", healthy(3), at: ms(0)) == StateChange(server: "a", from: .unknown, to: .up))
        #expect(fleet.report("b", healthy(3, status: "draining"), at: ms(0)) == StateChange(server: "b", from: .unknown, to: .draining))
    }

    @Test func fallConsecutiveFailuresTakeAServerDown() {
        var fleet = Fleet.withReadings([5])
        #expect(fleet.report("s0", .failed(reason: "timeout"), at: ms(1)) == nil)
        #expect(fleet.report("s0", .failed(reason: "timeout"), at: ms(2)) == nil)
        #expect(fleet.state(of: "s0") == .up)
        #expect(fleet.report("s0", .failed(reason: "connect"), at: ms(3)) == StateChange(server: "s0", from: .up, to: .down, reason: "connect"))
        #expect(fleet.snapshot()[0].consecutiveFailures == 3)
    }

    @Test func aGoodProbeBetweenFailuresRestartsTheCount() {
        var fleet = Fleet.withReadings([5])
        fleet.report("s0", .failed(reason: "timeout"), at: ms(1))
        fleet.report("s0", .failed(reason: "timeout"), at: ms(2))
        fleet.report("s0", healthy(5), at: ms(3))
        fleet.report("s0", .failed(reason: "timeout"), at: ms(4))
        fleet.report("s0", .failed(reason: "timeout"), at: ms(5))
        #expect(fleet.state(of: "s0") == .up)
    }

    @Test func riseConsecutiveGoodProbesBringADownServerBack() throws {
        var fleet = Fleet.withReadings([5])
        for step in 1...3 { fleet.report("s0", .failed(reason: "timeout"), at: ms(step)) }
        #expect(fleet.report("s0", healthy(5), at: ms(10)) == nil)
        #expect(fleet.state(of: "s0") == .down)
        var random = FleetRandomSource(seed: 1)
        let list = try #require(fleet.pick(arrivedAt: ms(10), now: ms(10), random: &random).passedOver)
        #expect(list == [PassedOver(url: "s0", state: .down, reason: "down: timeout")])
        #expect(fleet.report("s0", healthy(5), at: ms(20)) == StateChange(server: "s0", from: .down, to: .up))
        #expect(fleet.pick(arrivedAt: ms(20), now: ms(20), random: &random).pick?.server == "s0")
    }

    @Test func riseIsCountedFromTheLastFailure() {
        var fleet = Fleet.withReadings([5], configuration: .init(fall: 1, rise: 3))
        fleet.report("s0", .failed(reason: "timeout"), at: ms(1))
        fleet.report("s0", healthy(5), at: ms(2))
        fleet.report("s0", healthy(5), at: ms(3))
        fleet.report("s0", .failed(reason: "timeout"), at: ms(4))
        fleet.report("s0", healthy(5), at: ms(5))
        fleet.report("s0", healthy(5), at: ms(6))
        #expect(fleet.state(of: "s0") == .down)
        fleet.report("s0", healthy(5), at: ms(7))
        #expect(fleet.state(of: "s0") == .up)
    }

    @Test func aDownServerComingBackWhileDrainingBecomesDraining() {
        var fleet = Fleet.withReadings([5], configuration: .init(fall: 1, rise: 1))
        fleet.report("s0", .failed(reason: "timeout"), at: ms(1))
        #expect(fleet.report("s0", healthy(5, status: "draining"), at: ms(2)) == StateChange(server: "s0", from: .down, to: .draining))
    }

    @Test func drainingAndBackToUpFollowTheReportedStatusAtOnce() {
        var fleet = Fleet.withReadings([5])
        #expect(fleet.report("s0", healthy(5, status: "draining"), at: ms(1)) == StateChange(server: "s0", from: .up, to: .draining))
        #expect(fleet.report("s0", healthy(5), at: ms(2)) == StateChange(server: "s0", from: .draining, to: .up))
    }

    @Test func unknownServerFailingFallTimesGoesDown() {
        var fleet = Fleet()
        fleet.setServers(["a"])
        fleet.report("a", .failed(reason: "dns"), at: ms(1))
        fleet.report("a", .failed(reason: "dns"), at: ms(2))
        #expect(fleet.state(of: "a") == .unknown)
        #expect(fleet.report("a", .failed(reason: "dns"), at: ms(3)) == StateChange(server: "a", from: .unknown, to: .down, reason: "dns"))
    }
}

@Suite("Background probes of down servers")
struct BackgroundProbeTests {
    /// Refresh ahead off (freshness 0), so that only the down schedule speaks here;
    /// RefreshScheduleTests covers the other one.
    static let downOnly = FleetPickerConfiguration(freshness: .zero)

    /// A fleet where `s1` went down at 3 ms.
    func fleetWithOneDown() -> Fleet {
        var fleet = Fleet.withReadings([5, 5], configuration: Self.downOnly)
        for step in 1...3 { fleet.report("s1", .failed(reason: "connect"), at: ms(step)) }
        return fleet
    }

    @Test func nothingIsDueWhenNoServerIsDown() {
        var fleet = Fleet.withReadings([5, 5], configuration: Self.downOnly)
        var random = FleetRandomSource(seed: 1)
        let plan = fleet.backgroundProbes(now: ms(5_000), random: &random)
        #expect(plan.probe.isEmpty)
        #expect(plan.nextDue == nil)
    }

    @Test func aDownServerFallsDueAboutOneIntervalAfterGoingDownAndEveryIntervalAfter() throws {
        var fleet = fleetWithOneDown()
        var random = FleetRandomSource(seed: 1)
        let first = fleet.backgroundProbes(now: ms(3), random: &random)
        #expect(first.probe.isEmpty)
        let due = try #require(first.nextDue)
        #expect(due >= ms(3 + 900) && due < ms(3 + 1_100))

        let atDue = fleet.backgroundProbes(now: due, random: &random)
        #expect(atDue.probe == ["s1"])
        #expect(atDue.startedAt == due)
        let next = try #require(atDue.nextDue)
        #expect(next >= due.advanced(by: .milliseconds(900)) && next < due.advanced(by: .milliseconds(1_100)))

        // Still in flight when due again: skipped, not doubled.
        let overdue = fleet.backgroundProbes(now: next, random: &random)
        #expect(overdue.probe.isEmpty)
        fleet.recordProbe(server: "s1", startedAt: due, finishedAt: next, result: .failed(reason: "connect"))
        let later = try #require(overdue.nextDue)
        #expect(fleet.backgroundProbes(now: later, random: &random).probe == ["s1"])
    }

    @Test func jitterSpreadsServersThatWentDownTogether() {
        var fleet = Fleet(configuration: Self.downOnly)
        fleet.setServers(names(8))
        for server in names(8) {
            for step in 1...3 { fleet.report(server, .failed(reason: "connect"), at: ms(step)) }
        }
        var random = FleetRandomSource(seed: 9)
        var starts: Set<TestInstant> = []
        var now = ms(3)
        for _ in 0..<40 {
            let plan = fleet.backgroundProbes(now: now, random: &random)
            for server in plan.probe {
                starts.insert(plan.startedAt)
                fleet.recordProbe(server: server, startedAt: plan.startedAt, finishedAt: plan.startedAt, result: .failed(reason: "connect"))
            }
            now = plan.nextDue!
        }
        // Lockstep would put all eight probes of a round on one instant.
        #expect(starts.count >= 30)
    }

    @Test func aServerThatComesBackLeavesTheBackgroundList() {
        var fleet = fleetWithOneDown()
        fleet.report("s1", healthy(5), at: ms(10))
        fleet.report("s1", healthy(5), at: ms(20))
        var random = FleetRandomSource(seed: 1)
        #expect(fleet.backgroundProbes(now: ms(60_000), random: &random).nextDue == nil)
    }
}

@Suite("Abandoned probes")
struct AbandonedProbeTests {
    @Test("an abandoned probe frees its place in flight and changes no state or counter")
    func abandonedProbeIsNoVerdict() {
        var fleet = Fleet(configuration: FleetPickerConfiguration(fall: 1))
        _ = fleet.setServers(["http://a"])
        let start = ms(0)
        let plan = fleet.planProbes(excluding: [], arrivedAt: start, now: start)
        #expect(plan.probe == ["http://a"])
        #expect(fleet.recordProbe(server: "http://a", startedAt: start, finishedAt: ms(5), result: .abandoned) == nil)
        #expect(fleet.state(of: "http://a") == .unknown, "with fall 1, a failure would have taken it down")
        #expect(fleet.snapshot().first?.consecutiveFailures == 0)
        // Its place in flight is free: the next pick plans a new probe instead of joining.
        let next = fleet.planProbes(excluding: [], arrivedAt: ms(10), now: ms(10))
        #expect(next.probe == ["http://a"])
        #expect(next.join.isEmpty)
    }
}
