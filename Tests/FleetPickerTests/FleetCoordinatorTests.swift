import DispatchTestSupport
import FleetPicker
import Synchronization
import Testing

@Suite("Coordinator", .timeLimit(.minutes(1)))
struct FleetCoordinatorTests {
    func makeCoordinator(
        _ prober: FakeProber,
        clock: TestClock = TestClock(),
        configuration: FleetPickerConfiguration = .init(),
        observer: @escaping @Sendable (FleetEvent) -> Void = { _ in }
    ) -> FleetCoordinator<TestClock> {
        FleetCoordinator(configuration: configuration, prober: prober, clock: clock, random: FleetRandomSource(seed: 5), observer: observer)
    }

    @Test func emptyFleetIsFleetEmpty() async {
        let coordinator = makeCoordinator(FakeProber())
        #expect(await coordinator.pick() == .fleetEmpty)
    }

    @Test func aPickProbesStaleServersThenUsesFreshReadingsWithoutProbing() async throws {
        let prober = FakeProber(["a": healthy(4), "b": healthy(9)])
        let clock = TestClock()
        let coordinator = makeCoordinator(prober, clock: clock)
        coordinator.setServers(["a", "b"])
        let first = try #require(await coordinator.pick().pick)
        #expect(first.server == "b")
        #expect(first.available == 9)
        clock.advance(by: .milliseconds(200))
        #expect(await coordinator.pick().pick?.available == 8)
        #expect(prober.count("a") == 1 && prober.count("b") == 1)
        clock.advance(by: .milliseconds(100))
        _ = await coordinator.pick()
        #expect(prober.count("a") == 2 && prober.count("b") == 2)
    }

    @Test func aListAndItsOperatorStatesArriveTogether() async throws {
        let prober = FakeProber(["a": healthy(4), "b": healthy(9)])
        let coordinator = makeCoordinator(prober)
        let changes = coordinator.setServers(["a", "b"], operatorStates: ["b": .draining])
        #expect(changes == [OperatorStateChange(server: "b", from: .active, to: .draining)])
        #expect(await coordinator.pick().pick?.server == "a", "b is new and drained: never picked, not even once")
        #expect(coordinator.setServers(["a", "b"], operatorStates: ["b": .draining]).isEmpty, "nothing changed")
        #expect(coordinator.setServers(["a", "b"], operatorStates: [:]) == [OperatorStateChange(server: "b", from: .draining, to: .active)])
        #expect(await coordinator.pick().pick?.server == "b")
    }

    @Test func pickWithoutWaitingDecidesOnlyOnFreshReadingsAndNeverProbes() async throws {
        let prober = FakeProber(["a": healthy(4), "b": healthy(9)])
        let clock = TestClock()
        let coordinator = makeCoordinator(prober, clock: clock)
        #expect(coordinator.pickWithoutWaiting() == .fleetEmpty)
        coordinator.setServers(["a", "b"])
        // No reading yet: it declines, and leaves the probing to a pick that can wait.
        #expect(coordinator.pickWithoutWaiting() == nil)
        // Probes run in tasks of their own: give one that was wrongly started time to show.
        try await Task.sleep(for: .milliseconds(50))
        #expect(prober.count("a") == 0 && prober.count("b") == 0)
        #expect(await coordinator.pick().pick?.available == 9)
        // Fresh readings: it decides, reserves as a pick does, and probes nothing.
        clock.advance(by: .milliseconds(100))
        let quick = try #require(coordinator.pickWithoutWaiting()?.pick)
        #expect(quick.server == "b" && quick.available == 8)
        #expect(coordinator.snapshot().first { $0.url == "b" }?.reserved == 2)
        // Excluding b, a is the answer.
        #expect(coordinator.pickWithoutWaiting(excluding: ["b"])?.pick?.server == "a")
        // Stale again: it declines without probing; the waiting pick probes each server once.
        clock.advance(by: .milliseconds(200))
        #expect(coordinator.pickWithoutWaiting() == nil)
        try await Task.sleep(for: .milliseconds(50))
        #expect(prober.count("a") == 1 && prober.count("b") == 1)
        _ = await coordinator.pick()
        #expect(prober.count("a") == 2 && prober.count("b") == 2)
    }

    @Test func concurrentPicksShareOneProbePerServer() async {
        let prober = FakeProber(["a": healthy(10), "b": healthy(20), "c": healthy(16), "d": healthy(18)])
        prober.hold()
        let coordinator = makeCoordinator(prober)
        coordinator.setServers(["a", "b", "c", "d"])
        let outcomes = await withTaskGroup(of: PickOutcome.self) { group in
            for _ in 0..<64 {
                group.addTask { await coordinator.pick() }
            }
            // Let the first probes start, and the other picks plan, while they are held.
            var started = 0
            for await _ in prober.calls {
                started += 1
                if started == 4 { break }
            }
            for _ in 0..<1_000 { await Task.yield() }
            prober.release()
            return await group.reduce(into: []) { $0.append($1) }
        }
        for server in ["a", "b", "c", "d"] {
            #expect(prober.count(server) == 1)
        }
        // The herd at one instant: at most each server's free capacity, overflow 0.
        var perServer: [String: Int] = [:]
        for outcome in outcomes { if let pick = outcome.pick { perServer[pick.server, default: 0] += 1 } }
        #expect(perServer == ["a": 10, "b": 20, "c": 16, "d": 18])
    }

    @Test func picksDoNotWaitForADownServer() async throws {
        let prober = FakeProber(["a": healthy(4), "b": .failed(reason: "timeout")])
        let clock = TestClock()
        let coordinator = makeCoordinator(prober, clock: clock, configuration: .init(freshness: .zero))
        coordinator.setServers(["a", "b"])
        for _ in 0..<3 {
            _ = await coordinator.pick()
            clock.advance(by: .milliseconds(1))
        }
        #expect(coordinator.snapshot().map(\.state) == [.up, .down])
        // A held probe of b would hang this pick (until the time limit) if it waited for b.
        prober.hold(["b"])
        #expect(await coordinator.pick().pick?.server == "a")
        #expect(prober.count("a") == 4)
        #expect(prober.count("b") == 3)
        prober.release()
    }

    @Test func passedOverReasonsAndReleaseAndSnapshot() async throws {
        let prober = FakeProber(["a": healthy(1), "b": healthy(5, status: "draining"), "c": .failed(reason: "http_status 500")])
        let coordinator = makeCoordinator(prober)
        coordinator.setServers(["a", "b", "c"])
        let pick = try #require(await coordinator.pick().pick)
        #expect(pick.server == "a")
        let list = try #require(await coordinator.pick().passedOver)
        #expect(list == [
            PassedOver(url: "a", state: .up, reason: "full"),
            PassedOver(url: "b", state: .draining, reason: "draining"),
            PassedOver(url: "c", state: .unknown, reason: "probe failed: http_status 500"),
        ])
        let snapshot = coordinator.snapshot()
        #expect(snapshot[0].reserved == 1)
        #expect(snapshot[0].lastProbeStart == ms(0))
        #expect(snapshot[2].lastError == "http_status 500")
        #expect(snapshot[2].consecutiveFailures == 1)
        #expect(coordinator.release(reservationID: pick.reservationID))
        #expect(!coordinator.release(reservationID: pick.reservationID))
        #expect(await coordinator.pick(excluding: ["a"]).passedOver?.first?.reason == "excluded")
    }

    @Test func observerHearsProbesAndStateChanges() async {
        let events = Mutex<[FleetEvent]>([])
        let prober = FakeProber(["a": healthy(3)])
        let coordinator = makeCoordinator(prober) { event in events.withLock { $0.append(event) } }
        coordinator.setServers(["a"])
        _ = await coordinator.pick()
        #expect(events.withLock { $0 } == [
            .probeFinished(server: "a", result: healthy(3), latency: .zero),
            .stateChanged(server: "a", from: .unknown, to: .up, reason: nil),
        ])
    }

    @Test func backgroundProbesBringADownServerBackAndStopOnCancellation() async throws {
        let prober = FakeProber(["a": .failed(reason: "connect")])
        let clock = TestClock()
        let coordinator = makeCoordinator(prober, clock: clock, configuration: .init(freshness: .zero, fall: 1, rise: 2))
        coordinator.setServers(["a"])
        _ = await coordinator.pick()
        #expect(coordinator.snapshot()[0].state == .down)
        prober.answer("a", with: healthy(7))

        var sleepers = clock.sleepers.makeAsyncIterator()
        var calls = prober.calls.makeAsyncIterator()
        _ = await calls.next()  // the pick's own probe
        let background = Task { await coordinator.runBackgroundProbes() }
        for round in 1...2 {
            let deadline = try #require(await sleepers.next())
            // Due about one down interval (±10 %) after the last.
            #expect(deadline > clock.now.advanced(by: .milliseconds(899)))
            #expect(deadline < clock.now.advanced(by: .milliseconds(1_101)))
            clock.advance(by: clock.now.duration(to: deadline))
            #expect(await calls.next() == "a")
            #expect(prober.count("a") == 1 + round)
        }
        // Wait for the loop to sleep again, by which time the second result is in.
        _ = await sleepers.next()
        while coordinator.snapshot()[0].state != .up { await Task.yield() }
        background.cancel()
        await background.value
        #expect(coordinator.snapshot()[0].state == .up)
    }
}
