import NIOCore
import NIOEmbedded
import NIOPosix
import Synchronization
import Testing
@testable import DispatchHTTPServer

/// The clock the refresh schedule sleeps on: its sleeps are event loop timers, so they end when
/// the loop's timer fires (not by a timer of their own), end at once for a past deadline, end
/// early only by cancellation, and outlive a loop that is shut down under them.
@Suite("Event loop clock")
struct EventLoopClockTests {
    /// Set once a sleeping task has come back.
    final class Ended: Sendable {
        private let value = Atomic<Bool>(false)
        var isSet: Bool { value.load(ordering: .acquiring) }
        func set() { value.store(true, ordering: .releasing) }
    }

    @Test("a sleep ends when its loop's timer fires: a 30 s sleep ends once a test loop's time is moved on", .timeLimit(.minutes(1)))
    func endsByTheLoopsTimer() async throws {
        let loop = NIOAsyncTestingEventLoop()
        let clock = EventLoopClock(group: loop)
        let ended = Ended()
        let sleeper = Task {
            try await clock.sleep(until: clock.now.advanced(by: .seconds(30)))
            ended.set()
        }
        try await Task.sleep(for: .milliseconds(50))
        #expect(!ended.isSet, "a 30 s sleep ended after 50 ms")
        // The loop's time, not the wall clock's: a sleep of its own would take 30 real seconds.
        let start = ContinuousClock.now
        while !ended.isSet, ContinuousClock.now - start < .seconds(5) {
            await loop.advanceTime(by: .seconds(31))
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(ended.isSet, "the sleep did not end when the loop's time passed its deadline")
        try await sleeper.value
        try await loop.shutdownGracefully()
    }

    @Test("on a running loop a sleep ends at its deadline, not before", .timeLimit(.minutes(1)))
    func sleepsUntilTheDeadline() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let clock = EventLoopClock(group: group)
        for milliseconds in [1, 20, 50] {
            let deadline = clock.now.advanced(by: .milliseconds(milliseconds))
            try await clock.sleep(until: deadline)
            let late = deadline.duration(to: clock.now)
            #expect(late >= .zero, "woke \(late) before the deadline")
            // Generous (a test run on 2 busy cores resumed one 2.7 s late): only a sleep that
            // waits for something other than its deadline fails it.
            #expect(late < .seconds(20), "woke \(late) after the deadline")
        }
        try await group.shutdownGracefully()
    }

    @Test("a deadline already past returns at once; a cancelled task throws CancellationError", .timeLimit(.minutes(1)))
    func pastDeadlinesAndCancellation() async throws {
        let loop = NIOAsyncTestingEventLoop()
        let clock = EventLoopClock(group: loop)
        let start = clock.now
        try await clock.sleep(until: start.advanced(by: .seconds(-1)))
        #expect(start.duration(to: clock.now) < .seconds(1))

        // The loop's time never moves here: only cancellation can end this sleep.
        let sleeper = Task { try await clock.sleep(until: clock.now.advanced(by: .seconds(60))) }
        try await Task.sleep(for: .milliseconds(50))
        sleeper.cancel()
        let result = await sleeper.result
        #expect(throws: CancellationError.self) { try result.get() }

        let alreadyCancelled = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            try await clock.sleep(until: clock.now.advanced(by: .seconds(60)))
        }
        await #expect(throws: CancellationError.self) { try await alreadyCancelled.value }
        try await loop.shutdownGracefully()
    }

    @Test("a loop shut down under a sleep: the sleep still lasts until its deadline, without an error", .timeLimit(.minutes(1)))
    func outlivesItsLoop() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let clock = EventLoopClock(group: group)
        let deadline = clock.now.advanced(by: .milliseconds(400))
        let sleeper = Task { try await clock.sleep(until: deadline) }
        try await Task.sleep(for: .milliseconds(50))
        try await group.shutdownGracefully()
        try await sleeper.value
        #expect(deadline.duration(to: clock.now) >= .zero, "the sleep ended before its deadline when its loop went away")
    }

    @Test("durations in NIO's nanoseconds, the longest ones held at NIO's maximum")
    func timeAmounts() {
        #expect(EventLoopClock.timeAmount(.milliseconds(1_500)) == .nanoseconds(1_500_000_000))
        #expect(EventLoopClock.timeAmount(.nanoseconds(7)) == .nanoseconds(7))
        #expect(EventLoopClock.timeAmount(.seconds(Int64.max)) == .nanoseconds(.max))
        #expect(EventLoopClock.timeAmount(.seconds(9_223_372_037)) == .nanoseconds(.max))
    }
}
