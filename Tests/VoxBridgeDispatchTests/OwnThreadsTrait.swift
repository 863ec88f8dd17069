import Dispatch
import Testing

/// Runs a suite's tests on threads of their own instead of Swift concurrency's shared threads.
///
/// Why: the shared pool has one thread per core, two on the CI machine, and every test in the
/// process shares it. A test that blocks its thread (waiting for a child process, reading a raw
/// socket, polling a file with `usleep`) holds one of the two meanwhile. Two such tests at once
/// stalled every other test's in-process service: CI saw a 2.2 s gap in an event stream that
/// sends one a second, and a 500 ms probe of an idle fake server time out. Tests in a suite with
/// this trait run on ``OwnThreadsExecutor``, and so do their child tasks (task groups, `async
/// let`), which inherit the preference; a `Task { }` they start does not.
struct OwnThreadsTrait: SuiteTrait, TestTrait, TestScoping {
    /// Each test function of the suite gets the scope (not only the suite as a whole).
    var isRecursive: Bool { true }

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        try await withTaskExecutorPreference(OwnThreadsExecutor.shared) {
            try await function()
        }
    }
}

extension Trait where Self == OwnThreadsTrait {
    /// The suite's tests block threads, so they run on threads of their own (``OwnThreadsTrait``).
    static var ownThreads: Self { OwnThreadsTrait() }
}

/// A task executor that runs each job on libdispatch's overcommitting pool, which starts another
/// thread whenever every one it has is busy, so a blocked test never keeps another's job waiting.
///
/// Each job goes through a serial queue of its own: serial queues target the overcommitting pool,
/// concurrent ones the pool limited to one thread per core (measured here: 8 jobs blocking for
/// 200 ms on one concurrent queue took 800 ms on 2 cores).
final class OwnThreadsExecutor: TaskExecutor {
    /// The one executor every suite with ``OwnThreadsTrait`` shares.
    static let shared = OwnThreadsExecutor()

    private static let marker = DispatchSpecificKey<Bool>()

    private init() {}

    /// Whether the calling code runs a job of this executor.
    static var isCurrent: Bool { DispatchQueue.getSpecific(key: marker) == true }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let queue = DispatchQueue(label: "voxbridge.tests.own-threads")
        queue.setSpecific(key: Self.marker, value: true)
        queue.async {
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }
}
