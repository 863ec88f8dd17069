import DispatchTestSupport
import FleetPicker
import Synchronization
import Testing

@Suite("Coordinator: refresh ahead and outcome feedback", .timeLimit(.minutes(1)))
struct CoordinatorRefreshTests {
    @Test func theBackgroundLoopProbesAServerAddedToTheListAtOnce() async throws {
        let prober = FakeProber(["a": healthy(4), "b": healthy(9)])
        let clock = TestClock()
        let coordinator = FleetCoordinator(prober: prober, clock: clock, random: FleetRandomSource(seed: 5))
        var calls = prober.calls.makeAsyncIterator()
        var sleepers = clock.sleepers.makeAsyncIterator()
        let loop = Task { await coordinator.runBackgroundProbes() }
        _ = await sleepers.next()  // asleep, nothing listed
        coordinator.setServers(["a"])
        #expect(await calls.next() == "a", "probed without the clock moving and without a pick")
        coordinator.setServers(["a", "b"])
        #expect(await calls.next() == "b")
        // Both answered: picks decide at once, and nobody waited.
        while coordinator.snapshot().contains(where: { $0.state != .up }) { await Task.yield() }
        #expect(coordinator.pickWithoutWaiting()?.pick?.server == "b")
        loop.cancel()
        await loop.value
    }

    @Test func theLoopRefreshesReadingsBeforeTheyGoStale() async throws {
        let prober = FakeProber(["a": healthy(4)])
        let clock = TestClock()
        let coordinator = FleetCoordinator(prober: prober, clock: clock, random: FleetRandomSource(seed: 6))
        var calls = prober.calls.makeAsyncIterator()
        var sleepers = clock.sleepers.makeAsyncIterator()
        let loop = Task { await coordinator.runBackgroundProbes() }
        _ = await sleepers.next()
        coordinator.setServers(["a"])
        _ = await calls.next()
        while coordinator.snapshot()[0].lastProbeStart == nil { await Task.yield() }
        for round in 1...6 {
            // The loop sleeps until a's next refresh, which falls inside the freshness window
            // of the probe before (minus its tenth to spare). Sleeps begun while the probe was
            // still out end early and announce later deadlines: look past a few.
            var found: TestInstant?
            for _ in 0..<4 {
                let deadline = try #require(await sleepers.next())
                let lastStart = try #require(coordinator.snapshot()[0].lastProbeStart)
                if deadline <= lastStart.advanced(by: .milliseconds(225)) {
                    found = deadline
                    break
                }
            }
            let deadline = try #require(found, "the loop never slept until a refresh inside the window")
            clock.advance(by: clock.now.duration(to: deadline))
            #expect(await calls.next() == "a")
            #expect(prober.count("a") == 1 + round)
        }
        loop.cancel()
        await loop.value
    }

    @Test func aBusyReleaseHoldsTheServerAndProbesItAtOnce() async throws {
        let prober = FakeProber(["a": healthy(10), "b": healthy(5)])
        let clock = TestClock()
        let coordinator = FleetCoordinator(prober: prober, clock: clock, random: FleetRandomSource(seed: 7))
        coordinator.setServers(["a", "b"])
        let pick = try #require(await coordinator.pick().pick)
        #expect(pick.server == "a")
        var calls = prober.calls.makeAsyncIterator()
        var sleepers = clock.sleepers.makeAsyncIterator()
        let loop = Task { await coordinator.runBackgroundProbes() }
        _ = await sleepers.next()
        prober.hold(["a"])
        #expect(coordinator.release(reservationID: pick.reservationID, reason: .busy))
        #expect(coordinator.snapshot()[0].heldBy == .busy)
        #expect(await calls.next() == "a", "probed at once")
        // While the probe is out, a stays held: b takes the picks.
        #expect(coordinator.pickWithoutWaiting()?.pick?.server == "b")
        prober.release()
        while coordinator.snapshot()[0].heldBy != nil { await Task.yield() }
        #expect(coordinator.pickWithoutWaiting()?.pick?.server == "a")
        loop.cancel()
        await loop.value
    }

    @Test func failedReleasesReachingFallAreLoggedAsAStateChange() async throws {
        let events = Mutex<[FleetEvent]>([])
        let prober = FakeProber(["a": healthy(10)])
        let coordinator = FleetCoordinator(
            configuration: .init(fall: 1), prober: prober, clock: TestClock(), random: FleetRandomSource(seed: 8),
            observer: { event in events.withLock { $0.append(event) } })
        coordinator.setServers(["a"])
        let pick = try #require(await coordinator.pick().pick)
        #expect(coordinator.release(reservationID: pick.reservationID, reason: .failed))
        #expect(events.withLock { $0.last } == .stateChanged(server: "a", from: .up, to: .down, reason: "dialout failed (reported)"))
        #expect(!coordinator.release(reservationID: pick.reservationID, reason: .failed), "released already")
    }
}
