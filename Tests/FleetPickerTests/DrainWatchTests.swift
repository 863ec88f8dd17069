import DispatchTestSupport
import FleetPicker
import Testing

/// `fleet drain --wait`'s decision: no active calls for the whole quiet window, or the timeout.
@Suite("Drain watch")
struct DrainWatchTests {
    @Test("drained once no calls were reported for the whole quiet window")
    func drainedAfterQuietWindow() {
        var watch = DrainWatch(start: ms(0), quiet: .seconds(2), timeout: .seconds(900))
        #expect(watch.observe(activeCalls: 3, at: ms(0)) == .waiting(callsLeft: 3))
        #expect(watch.observe(activeCalls: 0, at: ms(1_000)) == .waiting(callsLeft: 0))
        #expect(watch.observe(activeCalls: 0, at: ms(2_999)) == .waiting(callsLeft: 0))
        #expect(watch.observe(activeCalls: 0, at: ms(3_000)) == .drained)
    }

    @Test("a call in the window, or a failed probe, starts the window again")
    func windowRestarts() {
        var watch = DrainWatch(start: ms(0), quiet: .seconds(2), timeout: .seconds(900))
        _ = watch.observe(activeCalls: 0, at: ms(0))
        #expect(watch.observe(activeCalls: 1, at: ms(1_500)) == .waiting(callsLeft: 1), "a reservation became a call")
        _ = watch.observe(activeCalls: 0, at: ms(2_000))
        #expect(watch.observe(activeCalls: nil, at: ms(3_000)) == .waiting(callsLeft: nil), "a failed probe says nothing")
        #expect(watch.observe(activeCalls: 0, at: ms(4_000)) == .waiting(callsLeft: 0))
        #expect(watch.observe(activeCalls: 0, at: ms(6_000)) == .drained)
    }

    @Test("calls that never end: timed out with the count")
    func timesOut() {
        var watch = DrainWatch(start: ms(0), quiet: .seconds(2), timeout: .seconds(10))
        #expect(watch.observe(activeCalls: 4, at: ms(9_999)) == .waiting(callsLeft: 4))
        #expect(watch.observe(activeCalls: 2, at: ms(10_000)) == .timedOut(callsLeft: 2))
        var silent = DrainWatch(start: ms(0), quiet: .seconds(2), timeout: .seconds(1))
        #expect(silent.observe(activeCalls: nil, at: ms(1_000)) == .timedOut(callsLeft: nil))
    }
}
