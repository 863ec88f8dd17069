import AsyncHTTPClient
import Foundation
import NIOCore
import Synchronization

/// Holds `count` `GET /v1/fleet/events` streams open against the dispatcher while a scenario
/// measures, reading every event, as that many operator pages or scripts would: the
/// `--event-streams` option, which shows what open streams cost the picks' latency.
///
/// Its own HTTP client, so the streams never take the pick load's pooled connections.
final class EventStreamLoad: Sendable {
    let count: Int
    private let url: String
    private let client: HTTPClient
    private let tasks = Mutex<[Task<Void, Never>]>([])
    /// Streams answered 200.
    let opened = Atomic<Int>(0)
    /// Streams refused (503 `too_many_streams` past `--max-event-streams`) or failed.
    let refused = Atomic<Int>(0)
    /// Body parts read, about one per event.
    let parts = Atomic<Int>(0)

    init(baseURL: String, count: Int) {
        self.count = count
        self.url = baseURL + "/v1/fleet/events"
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(120), concurrentHTTP1ConnectionsPerHostSoftLimit: max(count, 1))
        configuration.httpVersion = .http1Only
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// Opens the streams and waits (at most 10 s) until each has been answered.
    func start() async {
        let started = (0..<count).map { _ in
            Task { [self] in
                do {
                    let response = try await client.execute(HTTPClientRequest(url: url), timeout: .hours(24))
                    guard response.status == .ok else {
                        refused.add(1, ordering: .relaxed)
                        return
                    }
                    opened.add(1, ordering: .relaxed)
                    for try await _ in response.body { parts.add(1, ordering: .relaxed) }
                } catch {
                    if !Task.isCancelled { refused.add(1, ordering: .relaxed) }
                }
            }
        }
        tasks.withLock { $0 = started }
        let deadline = ContinuousClock.now + .seconds(10)
        while opened.load(ordering: .relaxed) + refused.load(ordering: .relaxed) < count, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Closes every stream and the client.
    func stop() async {
        let running = tasks.withLock { tasks in
            defer { tasks = [] }
            return tasks
        }
        for task in running { task.cancel() }
        for task in running { await task.value }
        try? await client.shutdown()
    }
}
