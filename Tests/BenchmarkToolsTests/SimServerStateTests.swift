import LoadKit
import Testing

@Suite("Simulated fleet server")
struct SimServerStateTests {
    let start = ContinuousClock.now

    @Test("answers 429 once every worker is busy, one call per worker")
    func busyAtCapacity() {
        var server = SimServerState(settings: .init(workers: 3), now: start)
        for _ in 0..<3 {
            #expect(server.dialout(now: start, duration: .seconds(10)) == .accepted)
        }
        #expect(server.dialout(now: start, duration: .seconds(10)) == .busy)
        #expect(server.dialoutsAccepted == 3)
        #expect(server.dialoutsRejected == 1)
        let health = server.health(now: start)
        #expect(health.workers == 3 && health.activeCalls == 3)
    }

    @Test("a call that ends frees its worker")
    func endedCallsFreeWorkers() {
        var server = SimServerState(settings: .init(workers: 2), now: start)
        #expect(server.dialout(now: start, duration: .milliseconds(100)) == .accepted)
        #expect(server.dialout(now: start, duration: .milliseconds(300)) == .accepted)
        #expect(server.dialout(now: start + .milliseconds(99), duration: .seconds(1)) == .busy)
        // At 100 ms the first call has ended: its worker takes the next call.
        #expect(server.activeCalls(now: start + .milliseconds(100)) == 1)
        #expect(server.dialout(now: start + .milliseconds(100), duration: .seconds(1)) == .accepted)
        #expect(server.activeCalls(now: start + .milliseconds(300)) == 1)
        #expect(server.activeCalls(now: start + .milliseconds(1100)) == 0)
    }

    @Test("busy workers at start, and reset restores them and clears counters")
    func busyAtStartAndReset() {
        var server = SimServerState(settings: .init(workers: 4, busyAtStart: 3), now: start)
        #expect(server.activeCalls(now: start + .seconds(3600)) == 3)
        #expect(server.dialout(now: start, duration: .seconds(1)) == .accepted)
        #expect(server.dialout(now: start, duration: .seconds(1)) == .busy)
        _ = server.health(now: start)
        server.reset(now: start + .seconds(1))
        #expect(server.activeCalls(now: start + .seconds(1)) == 3)
        #expect(server.healthRequests == 0 && server.dialoutsRejected == 0 && server.dialoutsAccepted == 0)
    }

    @Test("a restart drops every call in progress, counts them, is down for its window, then has every worker free")
    func restart() {
        var server = SimServerState(settings: .init(workers: 4, busyAtStart: 1), now: start)
        #expect(server.dialout(now: start, duration: .seconds(10)) == .accepted)
        #expect(server.dialout(now: start, duration: .seconds(10)) == .accepted)
        // Ended before the restart: not dropped.
        #expect(server.dialout(now: start, duration: .milliseconds(500)) == .accepted)
        let restartAt = start + .seconds(1)
        #expect(server.restart(now: restartAt, down: .seconds(3)) == 3)
        #expect(server.droppedCalls == 3)
        #expect(server.activeCalls(now: restartAt) == 0)
        #expect(server.isDown(now: restartAt))
        #expect(server.isDown(now: restartAt + .milliseconds(2_999)))
        #expect(server.dialout(now: restartAt + .seconds(2), duration: .seconds(1)) == .down)
        #expect(server.dialoutsRefused == 0 && server.dialoutsAccepted == 3)
        // Back after the window, with every worker free.
        let back = restartAt + .seconds(3)
        #expect(!server.isDown(now: back))
        for _ in 0..<4 {
            #expect(server.dialout(now: back, duration: .seconds(10)) == .accepted)
        }
        #expect(server.dialout(now: back, duration: .seconds(10)) == .busy)
        // A second restart adds to the count; a reset clears it and the window.
        #expect(server.restart(now: back + .seconds(1), down: .seconds(60)) == 4)
        #expect(server.droppedCalls == 7)
        server.reset(now: back + .seconds(2))
        #expect(server.droppedCalls == 0 && !server.isDown(now: back + .seconds(2)))
    }

    @Test("a server that is not ok refuses calls; a flapping one alternates")
    func modes() {
        var draining = SimServerState(settings: .init(workers: 4, mode: .draining), now: start)
        #expect(draining.dialout(now: start, duration: .seconds(1)) == .unavailable)
        let flapping = SimMode.flapping(periodMilliseconds: 1000, failure: .serverError)
        #expect(flapping.effective(after: .milliseconds(999)) == .ok)
        #expect(flapping.effective(after: .milliseconds(1000)) == .serverError)
        #expect(flapping.effective(after: .milliseconds(2500)) == .ok)
        var server = SimServerState(settings: .init(workers: 4, mode: flapping), now: start)
        #expect(server.dialout(now: start + .milliseconds(1500), duration: .seconds(1)) == .unavailable)
        #expect(server.dialout(now: start + .milliseconds(2100), duration: .seconds(1)) == .accepted)
        #expect(server.health(now: start + .milliseconds(1200)).mode == .serverError)
    }

    @Test("modes and call durations parse from their flag text")
    func parsing() {
        #expect(SimMode(parsing: "hang") == .hang)
        #expect(SimMode(parsing: "flap:1500:500") == .flapping(periodMilliseconds: 1500, failure: .serverError))
        #expect(SimMode(parsing: "flap:200:hang") == .flapping(periodMilliseconds: 200, failure: .hang))
        #expect(SimMode(parsing: "flap:0") == nil)
        #expect(SimMode(parsing: "sometimes") == nil)
        #expect(CallDuration(parsing: "uniform:500-1500") == .uniform(minMilliseconds: 500, maxMilliseconds: 1500))
        #expect(CallDuration(parsing: "250") == .fixed(milliseconds: 250))
        #expect(CallDuration(parsing: "uniform:9-1") == nil)
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<100 {
            let drawn = CallDuration.uniform(minMilliseconds: 10, maxMilliseconds: 20).draw(using: &generator)
            #expect(drawn >= .milliseconds(10) && drawn <= .milliseconds(20))
            let exponential = CallDuration.exponential(meanMilliseconds: 100).draw(using: &generator)
            #expect(exponential >= .zero && exponential <= .milliseconds(1000))
        }
    }
}
