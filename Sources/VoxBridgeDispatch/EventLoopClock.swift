import NIOCore
import NIOPosix

/// The continuous clock, with sleeps that are timers of NIO's event loops.
///
/// Why: `serve` runs Swift concurrency on NIO's event loops (main.swift), but NIO takes over
/// only the queue of jobs, not the timers: a `Task.sleep` is a Dispatch timer, which wakes
/// Dispatch's timer thread, then one of its workers, which hands the job to an event loop —
/// three threads woken for each tick of the refresh schedule, about 50 ticks a second with 8
/// servers. Here a sleep is a task scheduled on an event loop, which its own `epoll_wait`
/// wakes for. Instants are `ContinuousClock`'s, so readings, reservations and deadlines mix
/// with `ContinuousClock.now` elsewhere.
struct EventLoopClock: Clock {
    typealias Duration = Swift.Duration
    typealias Instant = ContinuousClock.Instant

    /// Where sleeps are scheduled when the sleeping task does not run on an event loop.
    let group: any EventLoopGroup

    /// A clock whose sleeps are timers of `group`'s loops (NIO's shared group by default).
    init(group: any EventLoopGroup = NIOSingletons.posixEventLoopGroup) {
        self.group = group
    }

    var now: Instant { .now }

    var minimumResolution: Duration { ContinuousClock().minimumResolution }

    /// Sleeps until `deadline` on the calling task's event loop (or one of `group`'s); the
    /// tolerance is not used. Throws `CancellationError` when the task is cancelled.
    func sleep(until deadline: Instant, tolerance: Duration? = nil) async throws {
        try Task.checkCancellation()
        let remaining = Instant.now.duration(to: deadline)
        guard remaining > .zero else { return }
        let loop = MultiThreadedEventLoopGroup.currentEventLoop ?? group.next()
        let (seconds, attoseconds) = remaining.components
        let scheduled = loop.scheduleTask(in: .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)) {}
        do {
            try await withTaskCancellationHandler {
                try await scheduled.futureResult.get()
            } onCancel: {
                scheduled.cancel()
            }
        } catch EventLoopError.cancelled {
            throw CancellationError()
        }
    }
}
