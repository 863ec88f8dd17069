import DispatchClient
import DispatchTestSupport
import Foundation
import Synchronization
import Testing

/// The configuration's documented defaults, without a socket.
@Test("every configuration field has its documented default")
func configurationDefaults() {
    let configuration = DispatchClientConfiguration()
    #expect(configuration.instances == ["http://127.0.0.1:8080"])
    #expect(configuration.token == nil)
    #expect(configuration.requestTimeout == .seconds(2))
    #expect(configuration.connectTimeout == .milliseconds(500))
    #expect(configuration.maxAttempts == 3)
    #expect(configuration.maxConnectionsPerInstance == 64)
}

/// The client against a real `voxbridge-dispatch serve` and a `voxcore-sim` fleet of 3. Serialized:
/// each test starts its own two children, and the timeout tests want a machine that is not busy
/// with the other tests' children.
@Suite("DispatchClient against a live dispatcher", .serialized)
struct DispatchClientTests {
    private func makeClient(_ live: LiveDispatcher, instances: [String]? = nil, token: String? = LiveDispatcher.pickToken,
                        requestTimeout: Duration = .seconds(5)) -> DispatchClient {
        DispatchClient(configuration: .init(instances: instances ?? [live.baseURL], token: token, requestTimeout: requestTimeout))
    }

    /// Runs `body` with `client`, then shuts the client down whether or not `body` threw: a client
    /// dropped without `shutdown()` stops the process (AsyncHTTPClient's rule), which would turn one
    /// failed expectation into a crash of the whole test run.
    private func using(_ client: DispatchClient, _ body: (DispatchClient) async throws -> Void) async throws {
        do {
            try await body(client)
            try await client.shutdown()
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    @Test("pick answers a fleet server with a reservation; release gives it back once")
    func pickAndRelease() async throws {
        try await LiveDispatcher.with { live in
            try await using(makeClient(live)) { client in
                let pick = try await client.pick()
                #expect(live.servers.contains(pick.server))
                #expect(pick.instance == live.baseURL)
                #expect(pick.workers == 16)
                try await client.release(pick)
                await #expect(throws: DispatchClientError.self) { try await client.release(pick) }
                do {
                    try await client.release(pick)
                } catch let error as DispatchClientError {
                    #expect(error.serviceError?.code == "unknown_reservation")
                    #expect(error.serviceError?.status == 404)
                }
            }
        }
    }

    @Test("a busy server is released busy and the next pick excludes it")
    func busyRetryExcludes() async throws {
        try await LiveDispatcher.with { live in
            try await using(makeClient(live)) { client in
                let tried = Mutex<[String]>([])
                let pick = try await client.dial { pick in
                    let count = tried.withLock { $0.append(pick.server); return $0.count }
                    return count == 1 ? .busy : .placed
                }
                let servers = tried.withLock { $0 }
                #expect(servers.count == 2)
                #expect(servers[0] != servers[1])
                #expect(pick.server == servers[1])
                #expect(try await live.releases("busy") == 1)
                #expect(try await live.releases("failed") == 0)
            }
        }
    }

    @Test("three busy servers: the dial gives up after 3 picks, each released busy")
    func retryLimit() async throws {
        try await LiveDispatcher.with { live in
            try await using(makeClient(live)) { client in
                let picks = Mutex(0)
                do {
                    try await client.dial(onPick: { _ in picks.withLock { $0 += 1 } }) { _ in .busy }
                    Issue.record("the dial should have given up")
                } catch DispatchClientError.retriesExhausted(let attempts) {
                    #expect(attempts.count == 3)
                    #expect(Set(attempts.map(\.server)) == Set(live.servers))
                    #expect(attempts.allSatisfy { $0.outcome == .busy })
                }
                #expect(picks.withLock { $0 } == 3)
                #expect(try await live.releases("busy") == 3)
            }
        }
    }

    @Test("a failing server is released failed, and the dispatcher holds it back")
    func failedRelease() async throws {
        try await LiveDispatcher.with { live in
            try await using(makeClient(live)) { client in
                let first = Mutex<String?>(nil)
                let pick = try await client.dial { pick in
                    first.withLock { first in
                        guard first == nil else { return .placed }
                        first = pick.server
                        return .failed
                    }
                }
                let failed = try #require(first.withLock { $0 })
                #expect(pick.server != failed)
                #expect(try await live.releases("failed") == 1)
                let fleet = try JSONSerialization.jsonObject(with: try await live.request("GET", "/v1/fleet").body) as? [String: Any]
                let entry = (fleet?["servers"] as? [[String: Any]])?.first { $0["url"] as? String == failed }
                #expect((entry?["reports_last_minute"] as? [String: Any])?["failed"] as? Int == 1)
            }
        }
    }

    @Test("placing code that throws releases not_placed and the error comes back")
    func placingCodeThrows() async throws {
        struct Refused: Error {}
        try await LiveDispatcher.with { live in
            try await using(makeClient(live)) { client async throws in
                await #expect(throws: Refused.self) { try await client.dial { _ in throw Refused() } }
                #expect(try await live.releases("not_placed") == 1)
            }
        }
    }

    @Test("every server excluded: noCapacity, with why each was passed over")
    func noCapacity() async throws {
        try await LiveDispatcher.with { live in
            try await using(makeClient(live)) { client in
                do {
                    _ = try await client.pick(excluding: live.servers)
                    Issue.record("pick should have failed")
                } catch DispatchClientError.noCapacity(let servers, let error) {
                    #expect(error.code == "no_capacity")
                    #expect(error.status == 503)
                    #expect(Set(servers.map(\.url)) == Set(live.servers))
                    #expect(servers.allSatisfy { $0.reason == "excluded" && $0.adminState == "active" })
                }
                // Drained by an operator: named apart from a drain the server reports itself.
                let drained = live.servers[0]
                let put = try await live.request("PUT", "/v1/fleet/admin", body: #"{"url": "\#(drained)", "state": "draining"}"#, token: LiveDispatcher.adminToken)
                #expect(put.status == 200)
                do {
                    _ = try await client.pick(excluding: Array(live.servers.dropFirst()))
                    Issue.record("pick should have failed")
                } catch DispatchClientError.noCapacity(let servers, _) {
                    let entry = servers.first { $0.url == drained }
                    #expect(entry?.adminState == "draining" && entry?.reason.hasPrefix("draining (operator)") == true)
                }
                _ = try await live.request("PUT", "/v1/fleet/admin", body: #"{"url": "\#(drained)", "state": "active"}"#, token: LiveDispatcher.adminToken)
                await #expect(throws: DispatchClientError.self) { try await client.dial(excluding: live.servers) { _ in .placed } }
            }
        }
    }

    @Test("an empty fleet list: fleetEmpty")
    func fleetEmpty() async throws {
        try await LiveDispatcher.with(servers: 0) { live in
            try await using(makeClient(live)) { client in
                do {
                    _ = try await client.pick()
                    Issue.record("pick should have failed")
                } catch DispatchClientError.fleetEmpty(let error) {
                    #expect(error.code == "fleet_empty")
                }
            }
        }
    }

    @Test("a wrong or missing token: unauthorized, with the service's code", arguments: ["wrong-token", nil] as [String?])
    func tokenRefused(token: String?) async throws {
        try await LiveDispatcher.with(servers: 1) { live in
            try await using(makeClient(live, token: token)) { client in
                do {
                    _ = try await client.pick()
                    Issue.record("pick should have been refused")
                } catch DispatchClientError.unauthorized(let error) {
                    #expect(error.code == "unauthorized")
                    #expect(error.status == 401)
                }
            }
        }
    }

    @Test("an instance that refuses connections: the next one answers, and keeps answering")
    func instanceDown() async throws {
        try await LiveDispatcher.with(servers: 1) { live in
            let dead = try SilentListener.closedPortURL()
            try await using(makeClient(live, instances: [dead, live.baseURL])) { client in
                let pick = try await client.pick()
                #expect(pick.instance == live.baseURL)
                try await client.release(pick)
                #expect(try await client.pick().instance == live.baseURL)
            }

            try await using(DispatchClient(configuration: .init(instances: [dead], token: LiveDispatcher.pickToken))) { alone in
                do {
                    _ = try await alone.pick()
                    Issue.record("pick should have failed")
                } catch DispatchClientError.unavailable(let failures) {
                    #expect(failures.map(\.instance) == [dead])
                }
            }
        }
    }

    @Test("an instance answering 502 without the service's JSON: the next one answers")
    func instanceBadGateway() async throws {
        try await LiveDispatcher.with(servers: 1) { live in
            // A proxy in front of a dead dispatcher instance: every request answered 502, then closed.
            let proxy = try TestHTTPServer(fallback: .badGateway)
            defer { proxy.stop() }
            try await using(makeClient(live, instances: [proxy.baseURL, live.baseURL])) { client in
                let pick = try await client.pick()
                #expect(pick.instance == live.baseURL)
                try await client.release(pick)
            }
        }
    }

    @Test("an instance that never answers: timed out within the bound, then the next one")
    func timeout() async throws {
        try await LiveDispatcher.with(servers: 1) { live in
            let silent = try SilentListener()
            try await using(makeClient(live, instances: [silent.url, live.baseURL], requestTimeout: .milliseconds(300))) { client in
                let started = ContinuousClock.now
                let pick = try await client.pick()
                #expect(pick.instance == live.baseURL)
                #expect(ContinuousClock.now - started < .seconds(3))
            }

            try await using(DispatchClient(configuration: .init(instances: [silent.url], requestTimeout: .milliseconds(300)))) { alone in
                let aloneStarted = ContinuousClock.now
                do {
                    _ = try await alone.pick()
                    Issue.record("pick should have timed out")
                } catch DispatchClientError.unavailable(let failures) {
                    #expect(failures == [InstanceFailure(instance: silent.url, reason: .timedOut)])
                }
                #expect(ContinuousClock.now - aloneStarted < .seconds(3))
            }
        }
    }

    @Test("the README's Swift example places a real call on the sim, as written")
    func readmeExample() async throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        let example = try String(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("ReadmeExample.swift"), encoding: .utf8)
        #expect(readme.contains("```swift\n" + example + "```\n"), "README must show ReadmeExample.swift verbatim")
        try await LiveDispatcher.with { live in
            try await using(makeDispatchClient(dispatchers: [live.baseURL], token: LiveDispatcher.pickToken)) { dispatch in
                let server = try await placeOutboundCall(to: "+15550100", using: dispatch)
                #expect(live.servers.contains(server))
            }
        }
    }
}
