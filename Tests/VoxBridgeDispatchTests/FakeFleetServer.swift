import DispatchHTTPServer
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization

/// A VoxCore fleet server stand-in on 127.0.0.1 (port 0): answers `GET /health/fleet` the way it
/// is told, and counts the requests it gets. The tests' own helper for the pick service.
final class FakeFleetServer: Sendable {
    /// How the fake answers its health endpoint.
    enum Mode: Sendable, Equatable {
        case healthy
        case hang
        case status(Int)
        case invalidJSON
        case redirect
        case oversizedBody
        case invalidField
    }

    struct Health: Sendable {
        var workers = 16
        var activeCalls = 0
        var status = "ok"
        var mode = Mode.healthy
        /// Added before every health answer.
        var latency: Duration = .zero
    }

    let port: Int
    var url: String { "http://127.0.0.1:\(port)" }

    /// What the route handler shares with the test.
    final class State: Sendable {
        let health: Health
        let requests = Atomic<Int>(0)
        let stopped = Atomic<Bool>(false)
        init(_ health: Health) { self.health = health }
    }

    private let state: State
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    /// Starts a fake with `available` free workers out of `workers`.
    init(available: Int = 16, workers: Int = 16, status: String = "ok", mode: Mode = .healthy, latency: Duration = .zero) async throws {
        let state = State(Health(workers: workers, activeCalls: workers - available, status: status, mode: mode, latency: latency))
        self.state = state

        let router = Router()
        router.get("/health/fleet") { _, _ -> Response in
            state.requests.add(1, ordering: .relaxed)
            let current = state.health
            if current.latency > .zero { try await Task.sleep(for: current.latency) }
            switch current.mode {
            case .healthy:
                return Self.json(#"{"workers":\#(current.workers),"active_calls":\#(current.activeCalls),"status":"\#(current.status)","version":"fake"}"#)
            case .hang:
                // Never answer within any probe timeout; bounded so that shutdown is not held up.
                let deadline = ContinuousClock.now + .seconds(20)
                while !state.stopped.load(ordering: .relaxed), ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(20))
                }
                return Self.json("{}")
            case .status(let code):
                return Response(status: .init(code: code), body: .init(byteBuffer: ByteBuffer(string: "{}")))
            case .invalidJSON:
                return Self.json(#"{"workers": 16, "active_calls": "#)
            case .redirect:
                return Response(status: .found, headers: [.location: "/elsewhere"])
            case .oversizedBody:
                return Self.json(#"{"workers":16,"active_calls":0,"pad":""# + String(repeating: "x", count: 70_000) + #""}"#)
            case .invalidField:
                return Self.json(#"{"workers":16,"active_calls":-3}"#)
            }
        }
        var logger = Logger(label: "fake-fleet")
        logger.logLevel = .critical
        let ports = AsyncStream<Int>.makeStream()
        let application = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                ports.continuation.yield(channel.localAddress?.port ?? 0)
                ports.continuation.finish()
            },
            logger: logger)
        let group = ServiceGroup(configuration: .init(services: [application], logger: logger))
        self.group = group
        self.task = Task { try await group.run() }
        var port = 0
        for await bound in ports.stream { port = bound }
        self.port = port
    }

    /// Health requests received so far.
    var requestCount: Int { state.requests.load(ordering: .relaxed) }

    /// Stops the server and waits for it.
    func stop() async {
        state.stopped.store(true, ordering: .relaxed)
        await group.triggerGracefulShutdown()
        _ = await task.result
    }

    private static func json(_ text: String) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
