import Foundation

/// Runs blocking work (a child process to completion, a wait for a log line) on a thread of its
/// own, so it never holds one of the few threads Swift concurrency runs the tests on. Throws what
/// `work` throws; work that cannot throw needs no `try`.
public func offThread<T: Sendable, Failure: Error>(_ work: @escaping @Sendable () throws(Failure) -> T) async throws(Failure) -> T {
    let result: Result<T, Failure> = await withCheckedContinuation { continuation in
        Thread.detachNewThread { continuation.resume(returning: Result { () throws(Failure) -> T in try work() }) }
    }
    return try result.get()
}
