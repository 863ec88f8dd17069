import NIOCore
import NIOPosix

/// The continuous clock, with sleeps that are timers of NIO's event loops.
///
/// Why: `serve` runs Swift concurrency on NIO's event loops (main.swift), but NIO takes over
/// only the queue of jobs, not the timers: a `Task.sleep` is a Dispatch timer, which wakes
/// Dispatch's timer thread, then one of its workers, which hands the job to an event loop —
/// three threads woken for each tick of the refresh schedule, about 50 ticks a second with 8
/// servers. Here a sleep is a task scheduled on an event loop, which its own `epoll_wait`
/// wakes for (measured: half the context switches of an idle dispatcher; docs/BENCHMARKS.md).
/// Instants are `ContinuousClock`'s, so readings, reservations and deadlines mix with
/// `ContinuousClock.now` elsewhere.
public struct EventLoopClock: Clock {
    /// Durations as the standard library's.
    public typealias Duration = Swift.Duration
    /// The continuous clock's instants.
    public typealias Instant = ContinuousClock.Instant

    /// Where sleeps are scheduled when the sleeping task does not run on an event loop.
    public let group: any EventLoopGroup

    /// A clock whose sleeps are timers of `group`'s loops (NIO's shared group by default).
    public init(group: any EventLoopGroup = NIOSingletons.posixEventLoopGroup) {
        self.group = group
    }

    /// The continuous clock's now.
    public var now: Instant { .now }

    /// The continuous clock's resolution.
    public var minimumResolution: Duration { ContinuousClock().minimumResolution }

    /// Sleeps until `deadline` on the calling task's event loop (or one of `group`'s); the
    /// tolerance is not used. Throws `CancellationError` when the task is cancelled. Should the
    /// loop be shut down under the sleep, the rest of it is a `Task.sleep`: a caller that loops
    /// on sleeps must never find them ending at once.
    public func sleep(until deadline: Instant, tolerance: Duration? = nil) async throws {
        try Task.checkCancellation()
        let remaining = Instant.now.duration(to: deadline)
        guard remaining > .zero else { return }
        let loop = MultiThreadedEventLoopGroup.currentEventLoop ?? group.next()
        let scheduled = loop.scheduleTask(in: Self.timeAmount(remaining)) {}
        do {
            try await withTaskCancellationHandler {
                try await scheduled.futureResult.get()
            } onCancel: {
                scheduled.cancel()
            }
        } catch {
            if Task.isCancelled { throw CancellationError() }
            try await Task.sleep(until: deadline, clock: .continuous)
        }
    }

    /// `duration` in NIO's nanoseconds, the longest NIO can hold when it is longer (about 292
    /// years).
    public static func timeAmount(_ duration: Duration) -> TimeAmount {
        let (seconds, attoseconds) = duration.components
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return .nanoseconds(.max) }
        let (sum, overflowAgain) = whole.addingReportingOverflow(attoseconds / 1_000_000_000)
        return overflowAgain ? .nanoseconds(.max) : .nanoseconds(sum)
    }
}
