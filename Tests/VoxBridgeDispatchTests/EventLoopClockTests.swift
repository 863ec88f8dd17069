import NIOCore
import NIOPosix
import Testing
@testable import VoxBridgeDispatch

/// The clock the refresh schedule sleeps on: its sleeps are event loop timers, so they must end
/// no earlier than asked, end at once for a past deadline, and end early only by cancellation.
@Suite("Event loop clock")
struct EventLoopClockTests {
    @Test("a sleep ends at its deadline, not before, on a loop of the clock's group", .timeLimit(.minutes(1)))
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
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let clock = EventLoopClock(group: group)
        let start = clock.now
        try await clock.sleep(until: start.advanced(by: .seconds(-1)))
        #expect(start.duration(to: clock.now) < .seconds(1))

        let sleeper = Task { try await clock.sleep(until: clock.now.advanced(by: .seconds(60))) }
        try await Task.sleep(for: .milliseconds(20))
        let cancelledAt = clock.now
        sleeper.cancel()
        let result = await sleeper.result
        #expect(throws: CancellationError.self) { try result.get() }
        #expect(cancelledAt.duration(to: clock.now) < .seconds(20), "the 60 s sleep ended by cancellation, not by its timer")

        let alreadyCancelled = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            try await clock.sleep(until: clock.now.advanced(by: .seconds(60)))
        }
        await #expect(throws: CancellationError.self) { try await alreadyCancelled.value }
        try await group.shutdownGracefully()
    }
}
