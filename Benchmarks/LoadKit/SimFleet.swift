import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
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
///   fleet's nginx with `max_conns=1`), 503 while the server is failing or draining;
/// - `GET /attach`, a WebSocket upgrade: one text message `{"server":INDEX,"url":"http://127.0.0.1:PORT"}`,
///   then every text message echoed until the client closes.
///
/// The control port answers
/// - `GET /control/stats`: every server's counters (health requests, dialouts, 429s) and calls;
/// - `POST /control/servers/INDEX` with any of `{"mode": "hang", "health_latency_ms": 50,
///   "workers": 16}`: changes that server at once;
/// - `POST /control/reset`: drops every call and counter and restores the start-up settings
///   (what a benchmark does between its two pickers);
/// - `POST /control/servers/INDEX/restart` with optional `{"down_ms": 3000}`: restarts that server's
///   workers as the fleet's runbook does (`systemctl restart voxcore@N`). Every call in progress
///   is dropped and counted (`dropped_calls`), every open connection (WebSockets too) is closed,
///   and for `down_ms` each new connection is closed at once without an answer, so health probes
///   and dialouts fail with a connection error, as against a stopped service (the listening socket
///   stays open: the sim would risk losing its port if it closed it). Afterwards every worker is free.
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
    /// Each server's open connections, which a restart closes.
    private let connections: [SimConnectionBook]
    /// Each server's open WebSockets (not cleared by a reset: they stay open).
    private let websocketsOpen: Mutex<[Int]>

    /// How long a restart keeps the server down when the request does not say.
    public static let defaultRestartDown: Duration = .milliseconds(3_000)

    /// A fleet of `servers.count` servers; nothing listens until ``makeApplications(host:logger:onReady:)``
    /// is run.
    public init(servers: [SimServerSettings], callDuration: CallDuration) {
        let now = ContinuousClock.now
        self.initialSettings = servers
        self.states = Mutex(servers.map { SimServerState(settings: $0, now: now) })
        self.callDuration = callDuration
        self.connections = servers.map { _ in SimConnectionBook() }
        self.websocketsOpen = Mutex(Array(repeating: 0, count: servers.count))
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
            let webSocketResponder = attachRouter(index: index) { bound.ports.withLock { $0.servers[index] } ?? 0 }.buildResponder()
            let book = connections[index]
            let server = HTTPServerBuilder { responder in
                SimConnectionGate(
                    base: HTTP1WebSocketUpgradeChannel(
                        responder: responder, webSocketResponder: webSocketResponder, configuration: .init()),
                    book: book,
                    isDown: { [self] in states.withLock { $0[index].isDown(now: .now) } })
            }
            applications.append(
                Application(
                    router: serverRouter(index: index),
                    server: server,
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
        let websockets = websocketsOpen.withLock { $0 }
        return states.withLock { states in
            states.indices.map { index in
                ServerStats(
                    index: index, mode: states[index].settings.mode.description,
                    effectiveMode: states[index].settings.mode.effective(after: now - states[index].startedAt).description,
                    workers: states[index].settings.workers, activeCalls: states[index].activeCalls(now: now),
                    healthRequests: states[index].healthRequests, dialoutsAccepted: states[index].dialoutsAccepted,
                    rejected429: states[index].dialoutsRejected, refused503: states[index].dialoutsRefused,
                    droppedCalls: states[index].droppedCalls, down: states[index].isDown(now: now),
                    websocketsOpen: websockets[index])
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

    /// Restarts one server's workers: drops and counts its calls, closes its connections, and
    /// keeps it from answering for `down`.
    /// - Returns: the calls dropped, or `nil` when there is no server `index`.
    @discardableResult
    public func restart(server index: Int, down: Duration = SimFleet.defaultRestartDown) -> Int? {
        let dropped: Int? = states.withLock { states in
            guard states.indices.contains(index) else { return nil }
            return states[index].restart(now: .now, down: down)
        }
        // After the window is set: a connection accepted from now on is refused by the gate.
        if dropped != nil { connections[index].closeAll() }
        return dropped
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
            case .down:
                // Only a request read just before a restart gets here; its connection is being closed.
                return Self.json(#"{"error":"restarting"}"#, status: .serviceUnavailable)
            }
        }
        return router
    }

    /// The WebSocket route of server `index`: greets with which server it is, then echoes text.
    private func attachRouter(index: Int, port: @escaping @Sendable () -> Int) -> Router<BasicWebSocketRequestContext> {
        let router = Router(context: BasicWebSocketRequestContext.self)
        router.ws("/attach") { [self] inbound, outbound, _ in
            websocketsOpen.withLock { $0[index] += 1 }
            defer { websocketsOpen.withLock { $0[index] -= 1 } }
            try await outbound.write(.text(#"{"server":\#(index),"url":"http://127.0.0.1:\#(port())"}"#))
            for try await message in inbound.messages(maxSize: 65_536) {
                if case .text(let text) = message { try await outbound.write(.text(text)) }
            }
        }
        return router
    }

    private func controlRouter() -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/control/stats") { [self] _, _ -> Response in
            let servers = stats()
            let body = try Self.encoder.encode(
                SimStats(
                    healthRequestsTotal: healthRequestsTotal, servers: servers,
                    droppedCallsTotal: servers.reduce(0) { $0 + $1.droppedCalls }))
            return Self.json(String(decoding: body, as: UTF8.self))
        }
        router.post("/control/reset") { [self] _, _ -> Response in
            reset()
            return Self.json(#"{"reset":true}"#)
        }
        router.post("/control/servers/:index/restart") { [self] request, context -> Response in
            guard let index = context.parameters.get("index", as: Int.self) else {
                return Self.json(#"{"error":"bad index"}"#, status: .badRequest)
            }
            let buffer = try await request.body.collect(upTo: 65_536)
            var down = Self.defaultRestartDown
            if buffer.readableBytes > 0 {
                guard let change = try? JSONDecoder().decode(RestartRequest.self, from: Data(buffer.readableBytesView)),
                    (change.downMs ?? 0) >= 0
                else {
                    return Self.json(#"{"error":"bad body"}"#, status: .badRequest)
                }
                if let milliseconds = change.downMs { down = .milliseconds(milliseconds) }
            }
            guard let dropped = restart(server: index, down: down) else {
                return Self.json(#"{"error":"no such server"}"#, status: .notFound)
            }
            return Self.json(
                #"{"restarted":\#(index),"dropped_calls":\#(dropped),"down_ms":\#(Int(down.milliseconds))}"#)
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

    private struct RestartRequest: Decodable {
        var downMs: Int?
        enum CodingKeys: String, CodingKey { case downMs = "down_ms" }
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
    /// Calls cut off by restarts.
    public var droppedCalls: Int
    /// Whether the server is in a restart window (answering nothing).
    public var down: Bool
    /// WebSocket connections open on `GET /attach`.
    public var websocketsOpen: Int

    enum CodingKeys: String, CodingKey {
        case index, mode, workers
        case effectiveMode = "effective_mode"
        case activeCalls = "active_calls"
        case healthRequests = "health_requests"
        case dialoutsAccepted = "dialouts_accepted"
        case rejected429 = "rejected_429"
        case refused503 = "refused_503"
        case droppedCalls = "dropped_calls"
        case down
        case websocketsOpen = "websockets_open"
    }
}

/// The body of `GET /control/stats`.
public struct SimStats: Sendable, Codable {
    /// Health requests since the fleet started (never reset).
    public var healthRequestsTotal: Int
    /// Each server's counters, in order.
    public var servers: [ServerStats]
    /// Calls dropped by restarts on every server (since the last reset).
    public var droppedCallsTotal: Int
    enum CodingKeys: String, CodingKey {
        case servers
        case healthRequestsTotal = "health_requests_total"
        case droppedCallsTotal = "dropped_calls_total"
    }
}
