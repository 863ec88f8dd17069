import DispatchTestSupport
import FleetPicker
import Testing

@Suite("Pick: most effective available wins")
struct PickTests {
    @Test func emptyFleetIsFleetEmpty() {
        var fleet = Fleet()
        var random = FleetRandomSource(seed: 1)
        #expect(fleet.pick(arrivedAt: ms(0), now: ms(0), random: &random) == .fleetEmpty)
    }

    @Test func mostAvailableWinsWithItsFiguresBeforeTheReservation() throws {
        var fleet = Fleet.withReadings([3, 11, 7])
        var random = FleetRandomSource(seed: 1)
        let pick = try #require(fleet.pick(arrivedAt: ms(10), now: ms(10), random: &random).pick)
        #expect(pick.server == "s1")
        #expect(pick.available == 11)
        #expect(pick.workers == 32)
        #expect(fleet.reserved("s1") == 1)
        let second = try #require(fleet.pick(arrivedAt: ms(11), now: ms(11), random: &random).pick)
        #expect(second.server == "s1")
        #expect(second.available == 10)
    }

    @Test func excludedServerNeverWins() throws {
        var fleet = Fleet.withReadings([3, 11, 7])
        var random = FleetRandomSource(seed: 1)
        let pick = try #require(fleet.pick(excluding: ["s1"], arrivedAt: ms(10), now: ms(10), random: &random).pick)
        #expect(pick.server == "s2")
    }

    @Test func everyServerExcludedIsNoCapacityWithReasons() throws {
        var fleet = Fleet.withReadings([3, 11])
        var random = FleetRandomSource(seed: 1)
        let list = try #require(
            fleet.pick(excluding: ["s0", "s1", "not-listed"], arrivedAt: ms(10), now: ms(10), random: &random).passedOver
        )
        #expect(list == [
            PassedOver(url: "s0", state: .up, reason: "excluded"),
            PassedOver(url: "s1", state: .up, reason: "excluded"),
        ])
    }

    @Test func drainingServerNeverWins() throws {
        var fleet = Fleet.withReadings([3, 11])
        fleet.report("s1", healthy(20, status: "draining"), at: ms(5))
        #expect(fleet.state(of: "s1") == .draining)
        var random = FleetRandomSource(seed: 1)
        let pick = try #require(fleet.pick(arrivedAt: ms(10), now: ms(10), random: &random).pick)
        #expect(pick.server == "s0")
        let list = try #require(fleet.pick(excluding: ["s0"], arrivedAt: ms(10), now: ms(10), random: &random).passedOver)
        #expect(list[1] == PassedOver(url: "s1", state: .draining, reason: "draining"))
    }

    @Test func fullServerNeverWins() throws {
        var fleet = Fleet.withReadings([0, 1])
        var random = FleetRandomSource(seed: 1)
        #expect(fleet.pick(arrivedAt: ms(10), now: ms(10), random: &random).pick?.server == "s1")
        let list = try #require(fleet.pick(arrivedAt: ms(10), now: ms(10), random: &random).passedOver)
        #expect(list == [
            PassedOver(url: "s0", state: .up, reason: "full"),
            PassedOver(url: "s1", state: .up, reason: "full"),
        ])
    }

    @Test func failedProbeBelowFallIsPassedOverWithTheFailure() throws {
        var fleet = Fleet.withReadings([5, 9])
        fleet.report("s1", .failed(reason: "timeout"), at: ms(5))
        #expect(fleet.state(of: "s1") == .up)
        var random = FleetRandomSource(seed: 1)
        #expect(fleet.pick(arrivedAt: ms(10), now: ms(10), random: &random).pick?.server == "s0")
        let list = try #require(fleet.pick(excluding: ["s0"], arrivedAt: ms(10), now: ms(10), random: &random).passedOver)
        #expect(list[1] == PassedOver(url: "s1", state: .up, reason: "probe failed: timeout"))
    }

    @Test func tiesAreBrokenAtRandomAmongTheMaximaOnly() {
        var fleet = Fleet.withReadings([7, 9, 9, 4, 9])
        var random = FleetRandomSource(seed: 7)
        var counts: [String: Int] = [:]
        for step in 0..<300 {
            let pick = fleet.pick(arrivedAt: ms(1), now: ms(1), random: &random).pick
            counts[pick?.server ?? "none", default: 0] += 1
            _ = fleet.release(reservationID: pick?.reservationID ?? "", now: ms(1 + step / 100))
        }
        #expect(Set(counts.keys) == ["s1", "s2", "s4"])
        #expect(counts.values.allSatisfy { $0 >= 60 })
    }

    @Test func sameSeedGivesTheSamePicksAndAnotherSeedOthers() {
        func run(seed: UInt64) -> [String] {
            var fleet = Fleet.withReadings([9, 9, 9, 9])
            var random = FleetRandomSource(seed: seed)
            return (0..<40).map { _ in
                let pick = fleet.pick(arrivedAt: ms(1), now: ms(1), random: &random).pick!
                _ = fleet.release(reservationID: pick.reservationID, now: ms(1))
                return pick.server + "/" + pick.reservationID
            }
        }
        #expect(run(seed: 3) == run(seed: 3))
        #expect(run(seed: 3) != run(seed: 4))
    }
}
