import DispatchTestSupport
import FleetPicker
import Testing

@Suite("Herd and spread")
struct HerdAndSpreadTests {
    static let free = [10, 20, 16, 18]

    /// Picks `count` times at one instant; returns picks per server and the no-capacity count.
    func burst(_ count: Int, seed: UInt64) -> (perServer: [String: Int], noCapacity: Int) {
        var fleet = Fleet.withReadings(Self.free, at: ms(0))
        var random = FleetRandomSource(seed: seed)
        var perServer: [String: Int] = [:]
        var noCapacity = 0
        for _ in 0..<count {
            switch fleet.pick(arrivedAt: ms(5), now: ms(5), random: &random) {
            case .picked(let pick): perServer[pick.server, default: 0] += 1
            case .noCapacity: noCapacity += 1
            case .fleetEmpty: Issue.record("fleet is not empty")
            }
        }
        return (perServer, noCapacity)
    }

    @Test(arguments: [1, 2, 3] as [UInt64])
    func sixtyFourPicksAtOneInstantNeverOverflowAServer(seed: UInt64) {
        let result = burst(64, seed: seed)
        for (index, free) in Self.free.enumerated() {
            #expect(result.perServer["s\(index)", default: 0] <= free)
        }
        #expect(result.perServer.values.reduce(0, +) == 64)
        #expect(result.noCapacity == 0)
    }

    @Test func aBurstLargerThanTheFleetGetsNoCapacityForExactlyTheExcess() {
        let result = burst(64 + 9, seed: 1)
        #expect(result.perServer == ["s0": 10, "s1": 20, "s2": 16, "s3": 18])
        #expect(result.noCapacity == 9)
    }

    @Test func threeEqualServersShareThreeThousandPicksEvenly() {
        // Each dialout is released at once, so all three stay equal and only the random
        // tie-break spreads the picks; reservations cannot make the split trivially even.
        var fleet = Fleet.withReadings([16, 16, 16], at: ms(0), configuration: .init(freshness: .seconds(3_600)))
        var random = FleetRandomSource(seed: 2026)
        var perServer: [String: Int] = [:]
        for step in 0..<3_000 {
            let pick = fleet.pick(arrivedAt: ms(step), now: ms(step), random: &random).pick!
            perServer[pick.server, default: 0] += 1
            #expect(pick.available == 16)
            _ = fleet.release(reservationID: pick.reservationID, now: ms(step))
        }
        #expect(perServer.count == 3)
        for count in perServer.values {
            #expect((900...1_100).contains(count))
        }
    }

    @Test func threeEqualServersWithSettlingProbesShareEvenly() {
        // Reservations kept and settled by probes every 250 ms, the way production runs: about
        // 130 stay alive at a time, well within the 180 free.
        var fleet = Fleet(configuration: .init())
        fleet.setServers(names(3))
        var random = FleetRandomSource(seed: 11)
        var perServer: [String: Int] = [:]
        for step in 0..<3_000 {
            let now = ms(step * 10)
            let plan = fleet.planProbes(arrivedAt: now, now: now)
            #expect(plan.probe.isEmpty || plan.probe.count == 3)
            for server in plan.probe {
                fleet.recordProbe(server: server, startedAt: now, finishedAt: now, result: healthy(60, workers: 64))
            }
            let outcome = fleet.pick(arrivedAt: now, now: now, random: &random)
            guard let pick = outcome.pick else {
                Issue.record("no pick at step \(step): \(outcome)")
                return
            }
            perServer[pick.server, default: 0] += 1
        }
        for count in perServer.values {
            #expect((900...1_100).contains(count))
        }
    }
}
