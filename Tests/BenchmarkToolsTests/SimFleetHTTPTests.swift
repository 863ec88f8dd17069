import AsyncHTTPClient
import Foundation
import LoadKit
import Logging
import NIOCore
import ServiceLifecycle
import NIOHTTP1
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
