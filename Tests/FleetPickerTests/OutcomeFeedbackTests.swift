import DispatchTestSupport
import FleetPicker
import Testing

@Suite("Outcome feedback: busy and failed releases")
struct OutcomeFeedbackTests {
    /// `a` with 10 free and `b` with 5, read at 0 ms; a pick at 10 ms reserves on `a`.
    func fleetWithAPickOnA(configuration: FleetPickerConfiguration = .init()) -> (Fleet, String) {
        var fleet = Fleet(configuration: configuration)
        fleet.setServers(["a", "b"])
        fleet.report("a", healthy(10), at: ms(0))
        fleet.report("b", healthy(5), at: ms(0))
        var random = FleetRandomSource(seed: 1)
        let pick = fleet.pick(arrivedAt: ms(10), now: ms(10), random: &random).pick!
        #expect(pick.server == "a")
        return (fleet, pick.reservationID)
    }

    @Test func busyCountsTheServerFullUntilAProbeStartedAfterTheReleaseSaysOtherwise() throws {
        var (fleet, id) = fleetWithAPickOnA()
        var random = FleetRandomSource(seed: 2)
        #expect(fleet.release(reservationID: id, reason: .busy, now: ms(20)) == ReleaseResult(server: "a"))
        #expect(fleet.reserved("a") == 0)
        #expect(fleet.snapshot()[0].heldBy == .busy)
        // Probed at once.
        #expect(fleet.backgroundDue(of: "a", now: ms(20)) == ms(20))
        #expect(fleet.backgroundProbes(now: ms(20), random: &random).probe == ["a"])
        // Until then, b takes the calls, though a's reading says 10 free.
        #expect(fleet.pick(arrivedAt: ms(21), now: ms(21), random: &random).pick?.server == "b")
        let passed = try #require(fleet.pick(excluding: ["b"], arrivedAt: ms(22), now: ms(22), random: &random).passedOver)
        #expect(passed[0].reason.hasPrefix("full: the fleet server answered 429"))
        // A probe that started before the release cannot lift it, even answering well.
        fleet.recordProbe(server: "a", startedAt: ms(15), finishedAt: ms(23), result: healthy(10))
        #expect(fleet.snapshot()[0].heldBy == .busy)
        #expect(fleet.backgroundDue(of: "a", now: ms(23)) == nil, "the probe planned at 20 ms is still under way")
        // The one started at 20 ms does.
        fleet.recordProbe(server: "a", startedAt: ms(20), finishedAt: ms(25), result: healthy(3))
        #expect(fleet.snapshot()[0].heldBy == nil)
        #expect(fleet.pick(excluding: ["b"], arrivedAt: ms(26), now: ms(26), random: &random).pick?.available == 3)
        // Busy is not a failure: no count toward fall.
        #expect(fleet.snapshot()[0].consecutiveFailures == 0)
        #expect(fleet.snapshot()[0].busyReports == 1)
    }

    @Test func aProbeUnderWayAtTheReleaseIsFollowedByAnotherAtOnce() throws {
        var fleet = Fleet()
        fleet.setServers(["a", "b"])
        var random = FleetRandomSource(seed: 2)
        #expect(fleet.backgroundProbes(now: ms(0), random: &random).probe == ["a", "b"])
        fleet.recordProbe(server: "a", startedAt: ms(0), finishedAt: ms(2), result: healthy(10))
        fleet.recordProbe(server: "b", startedAt: ms(0), finishedAt: ms(2), result: healthy(5))
        let id = try #require(fleet.pick(arrivedAt: ms(10), now: ms(10), random: &random).pick?.reservationID)
        // a's scheduled refresh starts, and is under way when the dialout comes back busy.
        let due = try #require(fleet.backgroundDue(of: "a", now: ms(10)))
        #expect(fleet.backgroundProbes(now: due, random: &random).probe.contains("a"))
        let reportedAt = due.advanced(by: .milliseconds(5))
        _ = fleet.release(reservationID: id, reason: .busy, now: reportedAt)
        #expect(!fleet.backgroundProbes(now: reportedAt, random: &random).probe.contains("a"), "single flight")
        let answeredAt = due.advanced(by: .milliseconds(10))
        fleet.recordProbe(server: "a", startedAt: due, finishedAt: answeredAt, result: healthy(10))
        // It started before the report: it cannot lift the hold, and the next probe is due at once.
        #expect(fleet.snapshot()[0].heldBy == .busy)
        #expect(fleet.backgroundDue(of: "a", now: answeredAt) == answeredAt)
    }

    @Test func failedPassesTheServerOverAndCountsTowardFall() throws {
        var (fleet, id) = fleetWithAPickOnA(configuration: .init(fall: 3))
        var random = FleetRandomSource(seed: 2)
        #expect(fleet.release(reservationID: id, reason: .failed, now: ms(20))?.change == nil)
        var snapshot = fleet.snapshot()[0]
        #expect(snapshot.heldBy == .failed && snapshot.consecutiveFailures == 1 && snapshot.state == .up)
        #expect(fleet.backgroundDue(of: "a", now: ms(20)) == ms(20))
        let passed = try #require(fleet.pick(excluding: ["b"], arrivedAt: ms(21), now: ms(21), random: &random).passedOver)
        #expect(passed[0].reason.hasPrefix("dialout failed (reported)"))
        // Two failed probes after it: three failures in a row take it down.
        fleet.recordProbe(server: "a", startedAt: ms(20), finishedAt: ms(25), result: .failed(reason: "connect"))
        let change = fleet.recordProbe(server: "a", startedAt: ms(30), finishedAt: ms(35), result: .failed(reason: "connect"))
        #expect(change == StateChange(server: "a", from: .up, to: .down, reason: "connect"))
        snapshot = fleet.snapshot()[0]
        #expect(snapshot.failedReports == 1 && snapshot.consecutiveFailures == 3)
    }

    @Test func fallReportsInARowTakeTheServerDownAndAreProbedAtOnce() throws {
        var fleet = Fleet(configuration: .init(fall: 2))
        fleet.setServers(["a"])
        fleet.report("a", healthy(10), at: ms(0))
        var random = FleetRandomSource(seed: 3)
        let first = fleet.pick(arrivedAt: ms(1), now: ms(1), random: &random).pick!
        let second = fleet.pick(arrivedAt: ms(1), now: ms(1), random: &random).pick!
        #expect(fleet.release(reservationID: first.reservationID, reason: .failed, now: ms(5))?.change == nil)
        let released = fleet.release(reservationID: second.reservationID, reason: .failed, now: ms(6))
        let result = try #require(released)
        #expect(result.change == StateChange(server: "a", from: .up, to: .down, reason: "dialout failed (reported)"))
        #expect(fleet.state(of: "a") == .down)
        // Down: the down schedule probes it at once, not a down interval later.
        #expect(fleet.backgroundProbes(now: ms(6), random: &random).probe == ["a"])
    }

    @Test func aGoodProbeStartedBeforeFailedReportsDoesNotUndoTheirCountTowardFall() throws {
        var fleet = Fleet(configuration: .init(fall: 2))
        fleet.setServers(["a"])
        fleet.report("a", healthy(10), at: ms(0))
        var random = FleetRandomSource(seed: 6)
        let first = try #require(fleet.pick(arrivedAt: ms(1), now: ms(1), random: &random).pick)
        let second = try #require(fleet.pick(arrivedAt: ms(1), now: ms(1), random: &random).pick)
        _ = fleet.release(reservationID: first.reservationID, reason: .failed, now: ms(20))
        // A refresh that started before the report answers well after it.
        fleet.recordProbe(server: "a", startedAt: ms(15), finishedAt: ms(25), result: healthy(10))
        #expect(fleet.snapshot()[0].consecutiveFailures == 1)
        let change = fleet.release(reservationID: second.reservationID, reason: .failed, now: ms(30))?.change
        #expect(change == StateChange(server: "a", from: .up, to: .down, reason: "dialout failed (reported)"))
    }

    @Test func aGoodProbeStartedBeforeAFailedReportDoesNotLiftIt() {
        var (fleet, id) = fleetWithAPickOnA()
        var random = FleetRandomSource(seed: 4)
        _ = fleet.release(reservationID: id, reason: .failed, now: ms(20))
        fleet.recordProbe(server: "a", startedAt: ms(19), finishedAt: ms(21), result: healthy(10))
        #expect(fleet.pick(excluding: ["b"], arrivedAt: ms(22), now: ms(22), random: &random).pick == nil)
        fleet.recordProbe(server: "a", startedAt: ms(22), finishedAt: ms(23), result: healthy(10))
        #expect(fleet.pick(excluding: ["b"], arrivedAt: ms(24), now: ms(24), random: &random).pick?.server == "a")
    }

    @Test func notPlacedOnlyDropsTheReservation() {
        var (fleet, id) = fleetWithAPickOnA()
        #expect(fleet.release(reservationID: id, reason: .notPlaced, now: ms(20)) == ReleaseResult(server: "a"))
        let snapshot = fleet.snapshot()[0]
        #expect(snapshot.heldBy == nil && snapshot.busyReports == 0 && snapshot.failedReports == 0 && snapshot.reserved == 0)
        #expect(fleet.release(reservationID: id, reason: .busy, now: ms(21)) == nil, "unknown now: nothing learned")
        #expect(fleet.snapshot()[0].heldBy == nil)
    }

    @Test func reportsAreCountedForAMinute() {
        var fleet = Fleet.withReadings([50], configuration: .init(freshness: .seconds(3_600), reservationTTL: .seconds(600)))
        var random = FleetRandomSource(seed: 5)
        for second in 0..<3 {
            let id = fleet.pick(arrivedAt: ms(second * 1_000), now: ms(second * 1_000), random: &random).pick!.reservationID
            _ = fleet.release(reservationID: id, reason: second == 1 ? .failed : .busy, now: ms(second * 1_000))
            // A good probe after each report lifts its hold, so the next pick can use the server.
            fleet.report("s0", healthy(50), at: ms(second * 1_000 + 1))
        }
        #expect(fleet.snapshot()[0].busyReports == 2 && fleet.snapshot()[0].failedReports == 1)
        fleet.expireReservations(now: ms(60_500))
        #expect(fleet.snapshot()[0].busyReports == 1 && fleet.snapshot()[0].failedReports == 1)
        fleet.expireReservations(now: ms(62_500))
        #expect(fleet.snapshot()[0].busyReports == 0 && fleet.snapshot()[0].failedReports == 0)
    }
}
