import Foundation
import Hummingbird
import Logging
import Synchronization

/// The simulated VoxCore fleet behind `voxcore-sim`: N fleet servers, each on its own loopback
/// port, plus one control port.
///
/// Each fleet server answers
/// - `GET /health/fleet` as the health body rules of docs/API.md says (`workers`, `active_calls`, `available`,
///   `status`), or fails the way its ``SimMode`` says, after its health latency;
/// - `POST /livekit/dialout`: 200 when a worker takes the call for a duration drawn from the
///   fleet's ``CallDuration``, 429 when every worker is busy (one call per worker, like the
///   fleet's nginx with `max_conns=1`), 503 while the server is failing or draining.
///
/// The control port answers
/// - `GET /control/stats`: every server's counters (health requests, dialouts, 429s) and calls;
/// - `POST /control/servers/INDEX` with any of `{"mode": "hang", "health_latency_ms": 50,
///   "workers": 16}`: changes that server at once;
/// - `POST /control/reset`: drops every call and counter and restores the start-up settings
///   (what a benchmark does between its two pickers).
public final class SimFleet: Sendable {
    /// The ports the fleet listens on, known once every listener is bound.
    public struct Ports: Sendable, Equatable {
        /// One port per fleet server, in order.
        public var servers: [Int]
        /// The control port.
        public var control: Int

        /// `http://127.0.0.1:PORT` of each fleet server.
        public var serverURLs: [String] { servers.map { "http://127.0.0.1:\($0)" } }
        /// `http://127.0.0.1:PORT` of the control port.
        public var controlURL: String { "http://127.0.0.1:\(control)" }
    }

    private let initialSettings: [SimServerSettings]
    private let states: Mutex<[SimServerState]>
    private let callDuration: CallDuration
    /// Health requests since start, never reset: what a benchmark divides by its run time.
    private let healthRequestsSinceStart = Atomic<Int>(0)

    /// A fleet of `servers.count` servers; nothing listens until ``makeApplications(host:logger:onReady:)``
    /// is run.
    public init(servers: [SimServerSettings], callDuration: CallDuration) {
        let now = ContinuousClock.now
        self.initialSettings = servers
        self.states = Mutex(servers.map { SimServerState(settings: $0, now: now) })
        self.callDuration = callDuration
    }

    /// The HTTP applications to run (fleet servers first, then the control port), all on
    /// `127.0.0.1`: on free ports when `basePort` is 0, otherwise server N on `basePort + N` and
    /// the control port after the last server. `onReady` is called once, when every one of them
    /// is listening.
    public func makeApplications(
        basePort: Int = 0, logger: Logger, onReady: @escaping @Sendable (Ports) async -> Void
    ) -> [any ApplicationProtocol] {
        let count = states.withLock { $0.count }
        let bound = PortBook(count: count)
        @Sendable func report(server: Int?, port: Int) async {
            let ready: Ports? = bound.ports.withLock { value in
                if let server { value.servers[server] = port } else { value.control = port }
                guard !value.announced, let control = value.control else { return nil }
                let servers = value.servers.compactMap { $0 }
                guard servers.count == count else { return nil }
                value.announced = true
                return Ports(servers: servers, control: control)
            }
            if let ready { await onReady(ready) }
        }
        var applications: [any ApplicationProtocol] = []
        for index in 0..<count {
            applications.append(
                Application(
                    router: serverRouter(index: index),
                    configuration: .init(address: .hostname("127.0.0.1", port: basePort == 0 ? 0 : basePort + index), serverName: "voxcore-sim"),
                    onServerRunning: { channel in await report(server: index, port: channel.localAddress?.port ?? 0) },
                    logger: logger))
        }
        applications.append(
            Application(
                router: controlRouter(),
                configuration: .init(address: .hostname("127.0.0.1", port: basePort == 0 ? 0 : basePort + count), serverName: "voxcore-sim"),
                onServerRunning: { channel in await report(server: nil, port: channel.localAddress?.port ?? 0) },
                logger: logger))
        return applications
    }

    /// Every server's counters now.
    public func stats() -> [ServerStats] {
        let now = ContinuousClock.now
        return states.withLock { states in
            states.indices.map { index in
                ServerStats(
                    index: index, mode: states[index].settings.mode.description,
                    effectiveMode: states[index].settings.mode.effective(after: now - states[index].startedAt).description,
                    workers: states[index].settings.workers, activeCalls: states[index].activeCalls(now: now),
                    healthRequests: states[index].healthRequests, dialoutsAccepted: states[index].dialoutsAccepted,
                    rejected429: states[index].dialoutsRejected, refused503: states[index].dialoutsRefused)
            }
        }
    }

    /// Health requests received since the fleet started; ``reset()`` does not clear it.
    public var healthRequestsTotal: Int { healthRequestsSinceStart.load(ordering: .relaxed) }

    /// Drops every call and counter and restores the start-up settings.
    public func reset() {
        let settings = initialSettings
        let now = ContinuousClock.now
        states.withLock { $0 = settings.map { SimServerState(settings: $0, now: now) } }
    }

    /// Changes one server's settings while it runs (calls in progress stay).
    /// - Returns: `false` when there is no server `index`.
    @discardableResult
    public func update(server index: Int, _ change: (inout SimServerSettings) -> Void) -> Bool {
        states.withLock { states in
            guard states.indices.contains(index) else { return false }
            change(&states[index].settings)
            return true
        }
    }

    // MARK: - Routes

    private func serverRouter(index: Int) -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/health/fleet") { [self] _, _ -> Response in
            healthRequestsSinceStart.add(1, ordering: .relaxed)
            let answer = states.withLock { $0[index].health(now: .now) }
            if answer.latency > .zero {
                try await Task.sleep(for: answer.latency)
            }
            switch answer.mode {
            case .ok, .draining, .flapping:
                let status = answer.mode == .draining ? "draining" : "ok"
                let available = max(0, answer.workers - answer.activeCalls)
                return Self.json(
                    #"{"workers":\#(answer.workers),"active_calls":\#(answer.activeCalls),"available":\#(available),"status":"\#(status)"}"#)
            case .hang:
                try await Task.sleep(for: SimMode.hangLimit)
                return Self.json(#"{"workers":0,"active_calls":0,"status":"hung"}"#, status: .serviceUnavailable)
            case .serverError:
                return Self.json(#"{"error":"simulated failure"}"#, status: .internalServerError)
            case .badJSON:
                return Self.json(#"{"workers": 16, "active_calls": "#)
            }
        }
        router.post("/livekit/dialout") { [self] _, _ -> Response in
            var generator = SystemRandomNumberGenerator()
            let duration = callDuration.draw(using: &generator)
            let answer = states.withLock { $0[index].dialout(now: .now, duration: duration) }
            switch answer {
            case .accepted:
                return Self.json(#"{"status":"dialing","duration_ms":\#(Int(duration.milliseconds))}"#)
            case .busy:
                return Self.json(#"{"error":"all workers busy"}"#, status: .tooManyRequests)
            case .unavailable:
                return Self.json(#"{"error":"server not accepting calls"}"#, status: .serviceUnavailable)
            }
        }
        return router
    }

    private func controlRouter() -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/control/stats") { [self] _, _ -> Response in
            let body = try Self.encoder.encode(SimStats(healthRequestsTotal: healthRequestsTotal, servers: stats()))
            return Self.json(String(decoding: body, as: UTF8.self))
        }
        router.post("/control/reset") { [self] _, _ -> Response in
            reset()
            return Self.json(#"{"reset":true}"#)
        }
        router.post("/control/servers/:index") { [self] request, context -> Response in
            guard let index = context.parameters.get("index", as: Int.self) else {
                return Self.json(#"{"error":"bad index"}"#, status: .badRequest)
            }
            let buffer = try await request.body.collect(upTo: 65_536)
            guard let change = try? JSONDecoder().decode(ServerChange.self, from: Data(buffer.readableBytesView)) else {
                return Self.json(#"{"error":"bad body"}"#, status: .badRequest)
            }
            var mode: SimMode?
            if let text = change.mode {
                guard let parsed = SimMode(parsing: text) else {
                    return Self.json(#"{"error":"unknown mode"}"#, status: .badRequest)
                }
                mode = parsed
            }
            let found = update(server: index) { settings in
                if let mode { settings.mode = mode }
                if let latency = change.healthLatencyMs { settings.healthLatency = .milliseconds(latency) }
                if let workers = change.workers { settings.workers = workers }
            }
            return found ? Self.json(#"{"changed":\#(index)}"#) : Self.json(#"{"error":"no such server"}"#, status: .notFound)
        }
        return router
    }

    private struct ServerChange: Decodable {
        var mode: String?
        var healthLatencyMs: Int?
        var workers: Int?
        enum CodingKeys: String, CodingKey {
            case mode, workers
            case healthLatencyMs = "health_latency_ms"
        }
    }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()

    private static func json(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}

/// The ports bound so far, until every listener has reported.
private final class PortBook: Sendable {
    let ports: Mutex<(servers: [Int?], control: Int?, announced: Bool)>
    init(count: Int) { ports = Mutex((Array(repeating: nil, count: count), nil, false)) }
}

/// One simulated server's counters, as `GET /control/stats` lists them.
public struct ServerStats: Sendable, Codable, Equatable {
    public var index: Int
    public var mode: String
    public var effectiveMode: String
    public var workers: Int
    public var activeCalls: Int
    public var healthRequests: Int
    public var dialoutsAccepted: Int
    public var rejected429: Int
    public var refused503: Int

    enum CodingKeys: String, CodingKey {
        case index, mode, workers
        case effectiveMode = "effective_mode"
        case activeCalls = "active_calls"
        case healthRequests = "health_requests"
        case dialoutsAccepted = "dialouts_accepted"
        case rejected429 = "rejected_429"
        case refused503 = "refused_503"
    }
}

/// The body of `GET /control/stats`.
public struct SimStats: Sendable, Codable {
    /// Health requests since the fleet started (never reset).
    public var healthRequestsTotal: Int
    /// Each server's counters, in order.
    public var servers: [ServerStats]
    enum CodingKeys: String, CodingKey {
        case servers
        case healthRequestsTotal = "health_requests_total"
    }
}
