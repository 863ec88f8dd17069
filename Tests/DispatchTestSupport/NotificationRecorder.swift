import Foundation
import PostgresNIO
import Synchronization

/// Listens on a channel with a connection of its own and records when each payload arrived: the
/// tests' stand-in for the moment a write committed (PostgreSQL delivers a `pg_notify` at the
/// commit, and on loopback within a fraction of a millisecond).
public final class NotificationRecorder: Sendable {
    private final class Arrivals: Sendable {
        let times = Mutex<[String: ContinuousClock.Instant]>([:])
    }

    private let arrivals = Arrivals()
    private let task: Task<Void, Never>
    private let ready: Task<Void, any Error>

    /// Starts listening on `channel` of the database at `url`; returns once the LISTEN is active.
    public init(url: String, channel: String) async throws {
        let arrivals = self.arrivals
        let (started, continuation) = AsyncStream<Result<Void, any Error>>.makeStream()
        task = Task {
            do {
                let connection = try await PostgresTestServer.connect(url)
                do {
                    try await connection.listen(on: channel) { notifications in
                        continuation.yield(.success(()))
                        for try await notification in notifications {
                            let now = ContinuousClock.now
                            arrivals.times.withLock { if $0[notification.payload] == nil { $0[notification.payload] = now } }
                        }
                    }
                } catch {}
                try? await connection.close()
            } catch {
                continuation.yield(.failure(error))
            }
        }
        ready = Task {
            for await result in started {
                try result.get()
                return
            }
        }
        try await ready.value
    }

    /// When `payload` arrived, if it did.
    public func arrival(of payload: String) -> ContinuousClock.Instant? {
        arrivals.times.withLock { $0[payload] }
    }

    /// Stops listening.
    public func stop() async {
        task.cancel()
        await task.value
    }
}
