import DispatchTestSupport
import FleetPicker
import Testing

/// A small discrete-event run of a fleet's background schedule on the mock clock: every
/// millisecond it asks ``FleetState/backgroundProbes(now:random:)`` what to probe, answers each
/// probe after the latency `latency(server, start)` gives, and lets `check` look at the fleet.
struct ScheduleRun {
    var fleet: Fleet
    var random = FleetRandomSource(seed: 11)
    /// Probes under way: server → (start, when it answers).
    var inFlight: [String: (start: TestInstant, answersAt: TestInstant)] = [:]
    /// Every probe start, by server.
    var starts: [String: [TestInstant]] = [:]

    mutating func run(
        from begin: Int, to end: Int,
        latency: (String, TestInstant) -> Duration,
        result: (String, TestInstant) -> ProbeResult = { _, _ in healthy(5) },
        check: (inout Fleet, TestInstant) -> Void = { _, _ in }
    ) {
        for step in begin...end {
            let now = ms(step)
            for (server, probe) in inFlight where probe.answersAt <= now {
                fleet.recordProbe(server: server, startedAt: probe.start, finishedAt: now, result: result(server, probe.start))
                inFlight[server] = nil
            }
            let plan = fleet.backgroundProbes(now: now, random: &random)
            for server in plan.probe {
                #expect(inFlight[server] == nil, "two probes of \(server) in flight at \(now)")
                inFlight[server] = (now, now.advanced(by: latency(server, now)))
                starts[server, default: []].append(now)
            }
            check(&fleet, now)
        }
    }
}

@Suite("Refresh ahead: the background schedule of servers that are not down")
struct RefreshScheduleTests {
    @Test(
        "readings stay fresh for every pick when probes take up to half the freshness window",
        arguments: [0, 20, 60, 125])
    func readingsStayFresh(latencyMilliseconds: Int) {
        var run = ScheduleRun(fleet: Fleet())
        run.fleet.setServers(names(8))
        var seed: UInt64 = 3
        var picksThatWouldWait = 0
        // Latency varies from 80 % to all of the given figure, so the estimate has to follow it.
        run.run(from: 0, to: 10_000, latency: { _, _ in
            seed = seed &* 6_364_136_223_846_793_005 &+ 1
            let share = 0.8 + Double(seed >> 40) / Double(1 << 24) * 0.2
            return .milliseconds(latencyMilliseconds) * share
        }, check: { fleet, now in
            // From the first answers on, a pick arriving at any millisecond decides at once.
            if now > ms(latencyMilliseconds + 1), fleet.needsProbes(arrivedAt: now) { picksThatWouldWait += 1 }
        })
        #expect(picksThatWouldWait == 0)
        // The load is the documented one: about one probe per server every 60 % of 250 ms,
        // more only where latency leaves less room than a period's jitter.
        let probes = run.starts.values.map(\.count).reduce(0, +)
        let documented = 8.0 * 10.0 / 0.150
        #expect(Double(probes) >= documented * 0.9)
        if latencyMilliseconds <= 20 { #expect(Double(probes) <= documented * 1.1) }
    }

    @Test func neverTwoProbesOfOneServerInFlightEvenWhenTheFleetIsSlowerThanTheWindow() {
        var run = ScheduleRun(fleet: Fleet())
        run.fleet.setServers(names(4))
        // 400 ms answers under a 250 ms window: probes run back to back, one at a time.
        run.run(from: 0, to: 5_000, latency: { _, _ in .milliseconds(400) })
        for (server, starts) in run.starts {
            for (earlier, later) in zip(starts, starts.dropFirst()) {
                #expect(earlier.duration(to: later) >= .milliseconds(400), "\(server) probed again before its answer")
            }
            #expect(starts.count >= 12, "back to back: about one probe every 400 ms")
        }
    }

    @Test func jitterSpreadsSixtyFourServersListedAtOnceOverThePeriod() throws {
        var run = ScheduleRun(fleet: Fleet())
        run.fleet.setServers(names(64))
        run.run(from: 0, to: 3_000, latency: { _, _ in .milliseconds(1) })
        // All 64 were probed at once when listed; a second later, the probes of one period
        // (150 ms) are spread over it rather than bunched.
        let window = (ms(2_000), ms(2_150))
        var bins = [Int](repeating: 0, count: 10)
        for starts in run.starts.values {
            for start in starts where start >= window.0 && start < window.1 {
                bins[Int((window.0.duration(to: start) / .milliseconds(15)).rounded(.down))] += 1
            }
        }
        let total = bins.reduce(0, +)
        #expect(total >= 50 && total <= 80, "about one probe per server per period: \(bins)")
        // Lockstep would put them all in one bin; evenly spread is 6.4 a bin.
        #expect(bins.max()! <= 14, "\(bins)")
        #expect(bins.filter { $0 > 0 }.count >= 9, "\(bins)")
    }

    @Test func aServerAddedToTheListIsDueAtOnce() {
        var run = ScheduleRun(fleet: Fleet())
        run.fleet.setServers(names(3))
        run.run(from: 0, to: 1_000, latency: { _, _ in .milliseconds(2) })
        run.fleet.setServers(names(4))
        #expect(run.fleet.backgroundDue(of: "s3", now: ms(1_001)) == ms(1_001))
        var random = FleetRandomSource(seed: 1)
        #expect(run.fleet.backgroundProbes(now: ms(1_001), random: &random).probe.contains("s3"))
    }

    @Test func theScheduleWaitsForTheAnswerAndTheLoopIsToldWhenTheNextProbeIsDue() throws {
        var fleet = Fleet()
        fleet.setServers(["a"])
        var random = FleetRandomSource(seed: 1)
        #expect(fleet.backgroundProbes(now: ms(0), random: &random).probe == ["a"])
        // Under way: not due again, and not part of the next wake-up.
        #expect(fleet.backgroundDue(of: "a", now: ms(1)) == nil)
        let quiet = fleet.backgroundProbes(now: ms(1), random: &random)
        #expect(quiet.probe.isEmpty && quiet.nextDue == nil)
        fleet.recordProbe(server: "a", startedAt: ms(0), finishedAt: ms(3), result: healthy(5))
        let due = try #require(fleet.backgroundDue(of: "a", now: ms(3)))
        // The first period after listing is a random phase of 20–120 % of the 150 ms interval.
        #expect(due >= ms(30) && due < ms(180))
        #expect(fleet.backgroundProbes(now: ms(3), random: &random).nextDue == due)
    }

    @Test func withoutFreshnessThereIsNoRefreshUnlessAnIntervalIsSet() {
        var fleet = Fleet.withReadings([5], configuration: .init(freshness: .zero))
        var random = FleetRandomSource(seed: 1)
        #expect(fleet.backgroundProbes(now: ms(5_000), random: &random).probe.isEmpty)
        var timed = Fleet.withReadings([5], configuration: .init(freshness: .zero, probeInterval: .milliseconds(100)))
        #expect(timed.backgroundProbes(now: ms(5_000), random: &random).probe == ["s0"])
    }

    @Test func anExplicitIntervalSetsTheLoad() {
        var run = ScheduleRun(fleet: Fleet(configuration: .init(freshness: .seconds(1), probeInterval: .milliseconds(100))))
        run.fleet.setServers(names(2))
        run.run(from: 0, to: 10_000, latency: { _, _ in .milliseconds(1) })
        let probes = run.starts.values.map(\.count).reduce(0, +)
        // 2 servers × 10 s / 100 ms.
        #expect(probes >= 180 && probes <= 220)
    }
}
