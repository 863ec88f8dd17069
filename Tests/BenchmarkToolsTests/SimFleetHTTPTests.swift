import AsyncHTTPClient
import Foundation
import HummingbirdWSClient
import LoadKit
import Logging
import NIOCore
import ServiceLifecycle
import NIOHTTP1
import Synchronization
import Testing

@Suite("voxcore-sim over HTTP")
struct SimFleetHTTPTests {
    @Test("429 at capacity over HTTP, a worker freed when its call ends, health counted", .timeLimit(.minutes(1)))
    func dialoutsAndHealth() async throws {
        // Calls last 5 s: long enough that the two calls are still active when the third dialout
        // and the health read arrive, also on a loaded machine (300 ms was not, beside the
        // PostgreSQL tests on 2 cores).
        let fleet = SimFleet(servers: [.init(workers: 2)], callDuration: .fixed(milliseconds: 5_000))
        try await withRunningFleet(fleet) { ports, client in
            let server = ports.serverURLs[0]
            #expect(try await status(client, .POST, server + "/livekit/dialout") == 200)
            #expect(try await status(client, .POST, server + "/livekit/dialout") == 200)
            #expect(try await status(client, .POST, server + "/livekit/dialout") == 429)
            let (code, body) = try await send(client, .GET, server + "/health/fleet")
            let healthAnswered = ContinuousClock.now
            #expect(code == 200)
            let health = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
            #expect(health?["workers"] as? Int == 2)
            #expect(health?["active_calls"] as? Int == 2)
            #expect(health?["available"] as? Int == 0)
            #expect(health?["status"] as? String == "ok")
            // The calls last 5 s and both started before the health answer came back: 5.2 s after
            // it, a worker is free again.
            try await Task.sleep(until: healthAnswered + .milliseconds(5_200))
            #expect(try await status(client, .POST, server + "/livekit/dialout") == 200)
            #expect(fleet.stats()[0].rejected429 == 1)
            #expect(fleet.healthRequestsTotal == 1)

            // Changed while it runs, through the control port.
            let (changed, _) = try await send(client, .POST, ports.controlURL + "/control/servers/0", body: #"{"mode":"500"}"#)
            #expect(changed == 200)
            #expect(try await status(client, .GET, server + "/health/fleet") == 500)
            #expect(try await status(client, .POST, server + "/livekit/dialout") == 503)
            #expect(try await status(client, .POST, ports.controlURL + "/control/reset") == 200)
            #expect(try await status(client, .GET, server + "/health/fleet") == 200)
            #expect(fleet.stats()[0].activeCalls == 0)
        }
    }

    @Test("a restart drops the calls in progress and counts them; health fails during the window, works after", .timeLimit(.minutes(1)))
    func restart() async throws {
        let fleet = SimFleet(servers: [.init(workers: 4), .init(workers: 4)], callDuration: .fixed(milliseconds: 60_000))
        try await withRunningFleet(fleet) { ports, client in
            let server = ports.serverURLs[0]
            #expect(try await status(client, .POST, server + "/livekit/dialout") == 200)
            #expect(try await status(client, .POST, server + "/livekit/dialout") == 200)
            #expect(try await status(client, .POST, ports.serverURLs[1] + "/livekit/dialout") == 200)
            let down = Duration.milliseconds(3_000)
            let sent = ContinuousClock.now
            let (code, body) = try await send(client, .POST, ports.controlURL + "/control/servers/0/restart", body: #"{"down_ms":3000}"#)
            let answered = ContinuousClock.now
            #expect(code == 200)
            let restarted = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
            #expect(restarted?["dropped_calls"] as? Int == 2)

            // Inside the window no health probe is answered: neither on the kept-alive connection
            // (the restart cut it) nor on a new one (closed as soon as it is accepted).
            await #expect(throws: (any Error).self) { try await send(client, .GET, server + "/health/fleet") }
            let fresh = HTTPClient(eventLoopGroupProvider: .singleton)
            await #expect(throws: (any Error).self) { try await send(fresh, .GET, server + "/health/fleet") }
            await #expect(throws: (any Error).self) { try await send(fresh, .POST, server + "/livekit/dialout") }
            try await fresh.shutdown()
            #expect(ContinuousClock.now < sent + down, "the probe failed only after the window: too slow to tell")
            let (_, statsBody) = try await send(client, .GET, ports.controlURL + "/control/stats")
            let stats = try JSONDecoder().decode(SimStats.self, from: Data(statsBody.utf8))
            #expect(stats.servers[0].droppedCalls == 2 && stats.servers[0].activeCalls == 0)
            #expect(stats.servers[1].droppedCalls == 0 && stats.servers[1].activeCalls == 1)
            #expect(stats.droppedCallsTotal == 2)
            #expect(stats.servers[0].down && !stats.servers[1].down)
            #expect(fleet.stats()[0].healthRequests == 0)

            // After the window: back, with every worker free.
            try await Task.sleep(until: answered + down + .milliseconds(200))
            let (healthCode, healthBody) = try await send(client, .GET, server + "/health/fleet")
            #expect(healthCode == 200)
            let health = try JSONSerialization.jsonObject(with: Data(healthBody.utf8)) as? [String: Any]
            #expect(health?["active_calls"] as? Int == 0)
            #expect(health?["available"] as? Int == 4)
            for _ in 0..<4 {
                #expect(try await status(client, .POST, server + "/livekit/dialout") == 200)
            }
            #expect(try await status(client, .POST, server + "/livekit/dialout") == 429)
            #expect(try await status(client, .POST, ports.controlURL + "/control/servers/7/restart") == 404)
        }
    }

    @Test("a WebSocket on /attach says which server it is, echoes, and is counted while open", .timeLimit(.minutes(1)))
    func attachWebSocket() async throws {
        let fleet = SimFleet(servers: [.init(), .init()], callDuration: .fixed(milliseconds: 1_000))
        try await withRunningFleet(fleet) { ports, client in
            var logger = Logger(label: "sim-test-ws")
            logger.logLevel = .critical
            let seen = Mutex<(greeting: String?, openWhileAttached: Int?, echo: String?)>((nil, nil, nil))
            try await WebSocketClient.connect(url: "ws://127.0.0.1:\(ports.servers[1])/attach", logger: logger) { inbound, outbound, _ in
                var messages = inbound.messages(maxSize: 65_536).makeAsyncIterator()
                if case .text(let greeting) = try await messages.next() { seen.withLock { $0.greeting = greeting } }
                let (_, statsBody) = try await send(client, .GET, ports.controlURL + "/control/stats")
                let stats = try JSONDecoder().decode(SimStats.self, from: Data(statsBody.utf8))
                seen.withLock { $0.openWhileAttached = stats.servers[1].websocketsOpen }
                #expect(stats.servers[0].websocketsOpen == 0)
                try await outbound.write(.text("ping"))
                if case .text(let echo) = try await messages.next() { seen.withLock { $0.echo = echo } }
                try await outbound.close(.normalClosure, reason: nil)
            }
            let result = seen.withLock { $0 }
            let greeting = try JSONSerialization.jsonObject(with: Data((result.greeting ?? "").utf8)) as? [String: Any]
            #expect(greeting?["server"] as? Int == 1)
            #expect(greeting?["url"] as? String == ports.serverURLs[1])
            #expect(result.openWhileAttached == 1)
            #expect(result.echo == "ping")
            // The server's side ends once the close handshake is done: at most 5 s.
            var open = -1
            for _ in 0..<100 {
                open = fleet.stats()[1].websocketsOpen
                if open == 0 { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(open == 0)
        }
    }

    private func withRunningFleet(
        _ fleet: SimFleet, _ body: (SimFleet.Ports, HTTPClient) async throws -> Void
    ) async throws {
        var logger = Logger(label: "sim-test")
        logger.logLevel = .critical
        let (stream, continuation) = AsyncStream<SimFleet.Ports>.makeStream()
        let applications = fleet.makeApplications(logger: logger) { ports in continuation.yield(ports) }
        let group = ServiceGroup(services: applications.map { $0 as any Service }, logger: logger)
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var iterator = stream.makeAsyncIterator()
            do {
                guard let ports = await iterator.next() else { throw CancellationError() }
                try await body(ports, client)
            } catch {
                await group.triggerGracefulShutdown()
                try? await client.shutdown()
                throw error
            }
            await group.triggerGracefulShutdown()
            try await client.shutdown()
            try await tasks.waitForAll()
        }
    }

    private func send(_ client: HTTPClient, _ method: HTTPMethod, _ url: String, body: String? = nil) async throws -> (Int, String) {
        var request = HTTPClientRequest(url: url)
        request.method = method
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await client.execute(request, timeout: .seconds(5))
        let buffer = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), String(buffer: buffer))
    }

    private func status(_ client: HTTPClient, _ method: HTTPMethod, _ url: String) async throws -> Int {
        try await send(client, method, url).0
    }
}
