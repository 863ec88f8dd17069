import Synchronization

/// A clock that moves only when a test advances it. Sleepers wake when it passes their deadline
/// or when their task is cancelled; `sleepers` announces each new sleeper, so tests can wait for
/// events instead of time. It starts at `ms(0)`.
public final class TestClock: Clock, Sendable {
    public typealias Instant = TestInstant
    public typealias Duration = Swift.Duration

    private struct Sleeper {
        var id: Int
        var deadline: TestInstant
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now = ms(0)
        var nextID = 0
        var sleepers: [Sleeper] = []
        var cancelled: Set<Int> = []
    }

    private let state = Mutex(State())
    private let sleeperAnnouncements = AsyncStream<TestInstant>.makeStream()

    /// A clock at zero with no sleeper.
    public init() {}

    /// Each sleeper's deadline, as it starts sleeping.
    public var sleepers: AsyncStream<TestInstant> { sleeperAnnouncements.stream }

    /// Where the tests have moved the clock so far.
    public var now: TestInstant { state.withLock { $0.now } }
    /// One nanosecond: deadlines are kept exactly.
    public var minimumResolution: Duration { .nanoseconds(1) }

    /// Moves the clock and wakes the sleepers whose deadline it passed.
    public func advance(by duration: Duration) {
        let due = state.withLock { state in
            state.now = state.now.advanced(by: duration)
            let now = state.now
            let due = state.sleepers.filter { $0.deadline <= now }
            state.sleepers.removeAll { $0.deadline <= now }
            return due
        }
        for sleeper in due { sleeper.continuation.resume() }
    }

    /// Returns once the clock reaches `deadline` (at once when it has); throws
    /// `CancellationError` when the task is cancelled first.
    public func sleep(until deadline: TestInstant, tolerance: Duration?) async throws {
        let id = state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let outcome: Result<Void, any Error>? = state.withLock { state in
                    if state.cancelled.contains(id) { return .failure(CancellationError()) }
                    if deadline <= state.now { return .success(()) }
                    state.sleepers.append(Sleeper(id: id, deadline: deadline, continuation: continuation))
                    return nil
                }
                if let outcome {
                    continuation.resume(with: outcome)
                } else {
                    sleeperAnnouncements.continuation.yield(deadline)
                }
            }
        } onCancel: {
            let sleeper: Sleeper? = state.withLock { state in
                state.cancelled.insert(id)
                if let index = state.sleepers.firstIndex(where: { $0.id == id }) {
                    return state.sleepers.remove(at: index)
                }
                return nil
            }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
    }
}
