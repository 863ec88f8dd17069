import DispatchTestSupport
import FleetPicker
import PropertyBased
import Testing

/// Random fleets driven through random event sequences, checking the picker's invariants
/// against an oracle computed from the public snapshot before each pick.
@Suite("Properties over random fleets and events")
struct PropertyTests {
    /// One server of a generated fleet: what it answers to every probe.
    struct Behaviour {
        var available: Int
        var kind: Int  // 0: draining, 1: failing, otherwise healthy

        init(code: Int) {
            available = code % 13
            kind = code / 13
        }

        var result: ProbeResult {
            switch kind {
            case 0: healthy(available, status: "draining")
            case 1: .failed(reason: "connect")
            default: healthy(available)
            }
        }
    }

    /// What a run did, for comparing runs.
    struct Run: Equatable {
        var picks: [String] = []
    }

    static let fleetCodes = Gen.int(in: 0...129).array(of: 1...8)
    static let events = Gen.int(in: 0...999).array(of: 1...120)
    static let seeds = Gen.int(in: 0...Int.max)

    /// Plays `events` on a fleet of `codes`, checking every invariant; returns the picks made.
    static func play(codes: [Int], events: [Int], seed: Int) -> Run {
        let behaviours = codes.map(Behaviour.init(code:))
        let urls = names(codes.count)
        let configuration = FleetPickerConfiguration()
        var fleet = Fleet(configuration: configuration)
        fleet.setServers(urls)
        var random = FleetRandomSource(seed: UInt64(seed))
        var now = ms(0)
        var live: [String] = []
        var pickTimes: [TestInstant] = []
        var run = Run()

        for event in events {
            let selector = event / 10
            switch event % 10 {
            case 0...5:
                let excluded: Set<String> = event % 10 == 5 ? [urls[selector % urls.count]] : []
                let plan = fleet.planProbes(excluding: excluded, arrivedAt: now, now: now)
                for server in plan.probe {
                    let index = urls.firstIndex(of: server)!
                    fleet.recordProbe(server: server, startedAt: now, finishedAt: now, result: behaviours[index].result)
                }
                #expect(plan.join.isEmpty, "every planned probe has answered")
                let before = fleet.snapshot()
                let threshold = now.advanced(by: .zero - configuration.freshness)
                let candidates = before.filter { server in
                    !excluded.contains(server.url) && server.state == .up && server.lastError == nil
                        && (server.lastProbeStart.map { $0 >= threshold } ?? false)
                        && (server.available ?? 0) - server.reserved > 0
                }
                let best = candidates.map { ($0.available ?? 0) - $0.reserved }.max()
                switch fleet.pick(excluding: excluded, arrivedAt: now, now: now, random: &random) {
                case .picked(let pick):
                    let chosen = before.first { $0.url == pick.server }!
                    let behaviour = behaviours[urls.firstIndex(of: pick.server)!]
                    #expect(!excluded.contains(pick.server))
                    #expect(chosen.state == .up)
                    #expect(behaviour.kind >= 2, "never a draining or failing server")
                    #expect(pick.available > 0, "never a full server")
                    #expect(pick.available == best, "always one of the maxima")
                    #expect(pick.available == (chosen.available ?? 0) - chosen.reserved)
                    live.append(pick.reservationID)
                    pickTimes.append(now)
                    run.picks.append(pick.server + "/" + pick.reservationID)
                case .noCapacity(let passed):
                    #expect(best == nil, "no capacity only when no server could take the call")
                    #expect(passed.map(\.url) == urls)
                    run.picks.append("none")
                case .fleetEmpty:
                    Issue.record("the fleet is not empty")
                }
            case 6:
                if !live.isEmpty {
                    _ = fleet.release(reservationID: live.remove(at: selector % live.count), now: now)
                }
            case 7:
                now = now.advanced(by: .milliseconds(selector * 5))
            case 8:
                let index = selector % urls.count
                fleet.recordProbe(server: urls[index], startedAt: now, finishedAt: now, result: behaviours[index].result)
            default:
                let plan = fleet.backgroundProbes(now: now, random: &random)
                for server in plan.probe {
                    let index = urls.firstIndex(of: server)!
                    fleet.recordProbe(server: server, startedAt: plan.startedAt, finishedAt: now, result: behaviours[index].result)
                }
            }

            // Reservations: never negative, and bounded by the picks of one TTL.
            let snapshot = fleet.snapshot()
            let picksWithinTTL = pickTimes.filter { $0.advanced(by: configuration.reservationTTL) > now }.count
            #expect(snapshot.allSatisfy { $0.reserved >= 0 })
            #expect(fleet.reservationCount == snapshot.map(\.reserved).reduce(0, +))
            #expect(fleet.reservationCount <= picksWithinTTL)
        }
        return run
    }

    @Test func invariantsHoldOverRandomFleetsAndEvents() async {
        await propertyCheck(count: 200, input: Self.fleetCodes, Self.events, Self.seeds) { codes, events, seed in
            _ = Self.play(codes: codes, events: events, seed: seed)
        }
    }

    @Test func theSameSeedGivesTheSamePicks() async {
        await propertyCheck(count: 50, input: Self.fleetCodes, Self.events, Self.seeds) { codes, events, seed in
            #expect(Self.play(codes: codes, events: events, seed: seed) == Self.play(codes: codes, events: events, seed: seed))
        }
    }
}
