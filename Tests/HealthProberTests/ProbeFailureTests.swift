import DispatchTestSupport
import Testing
@testable import HealthProber

extension ProberNetworkTests {
    /// One test per failure reason of the health body rules of docs/API.md.
    @Suite struct Failures {
        @Test func hungServerIsTimeoutWithinBound() async throws {
            let server = try TestHTTPServer(routes: [Fixtures.healthPath: .init(hang: true)])
            defer { server.stop() }
            let prober = try HealthProber()
            defer { prober.shutdown() }
            let clock = ContinuousClock()
            let started = clock.now
            let outcome = await prober.probe(server.baseURL)
            let elapsed = clock.now - started
            let failure = Fixtures.failure(outcome)
            #expect(failure?.reason == .timeout)
            #expect(elapsed >= .milliseconds(480), "gave up early: \(elapsed)")
            #expect(elapsed < .milliseconds(600), "timeout 500 ms took \(elapsed)")
            #expect(server.requestCount(Fixtures.healthPath) == 1)
        }

        @Test func shortTimeoutIsHonoured() async throws {
            let server = try TestHTTPServer(routes: [Fixtures.healthPath: .init(delay: .seconds(2))])
            defer { server.stop() }
            let prober = try HealthProber(configuration: .init(timeout: .milliseconds(100)))
            defer { prober.shutdown() }
            let clock = ContinuousClock()
            let started = clock.now
            let failure = Fixtures.failure(await prober.probe(server.baseURL))
            #expect(failure?.reason == .timeout)
            #expect(clock.now - started < .milliseconds(200))
        }

        @Test func closedPortIsConnect() async throws {
            let prober = try HealthProber()
            defer { prober.shutdown() }
            let closedPort = try LoopbackSocket.freePort()
            let failure = Fixtures.failure(await prober.probe("http://127.0.0.1:\(closedPort)"))
            #expect(failure?.reason == .connect)
            #expect(failure?.detail.isEmpty == false)
        }

        @Test func serverClosingWithoutAnswerIsConnect() async throws {
            // A route that closes the connection with no bytes written: libcurl's "Empty reply".
            let server = try TestHTTPServer(routes: [Fixtures.healthPath: .init(drop: true)])
            defer { server.stop() }
            let prober = try HealthProber()
            defer { prober.shutdown() }
            let failure = Fixtures.failure(await prober.probe(server.baseURL))
            #expect(failure?.reason == .connect)
        }

        @Test func unresolvableNameIsDNS() async throws {
            // A 70-character label is longer than DNS allows (63), so the resolver refuses the
            // name on this machine without sending a query: the test stays on loopback.
            let prober = try HealthProber()
            defer { prober.shutdown() }
            let failure = Fixtures.failure(await prober.probe(Fixtures.unresolvableURL))
            #expect(failure?.reason == .dns, "\(String(describing: failure))")
        }

        @Test func httpsToPlainServerIsTLS() async throws {
            let server = try TestHTTPServer(routes: [Fixtures.healthPath: Fixtures.json(workers: 1, active: 0)])
            defer { server.stop() }
            let prober = try HealthProber()
            defer { prober.shutdown() }
            let failure = Fixtures.failure(await prober.probe("https://127.0.0.1:\(server.port)"))
            #expect(failure?.reason == .tls, "\(String(describing: failure))")
        }

        @Test func unreadableCAFileIsRefusedAtStart() {
            // Otherwise every https probe would fail as `tls` and the whole fleet would go down.
            #expect {
                try HealthProber(configuration: .init(caFile: "/nonexistent/ca.pem"))
            } throws: { error in
                guard case ProberSetupError.invalidConfiguration(let problem) = error else { return false }
                return problem.contains("/nonexistent/ca.pem")
            }
        }

        @Test(arguments: [500, 404, 429, 204])
        func nonOKStatusIsHTTPStatus(_ status: Int) async throws {
            let server = try TestHTTPServer(routes: [
                Fixtures.healthPath: .init(status: status, body: status == 204 ? [] : Array("{\"error\":1}".utf8))
            ])
            defer { server.stop() }
            let prober = try HealthProber()
            defer { prober.shutdown() }
            let failure = Fixtures.failure(await prober.probe(server.baseURL))
            #expect(failure?.reason == .httpStatus(status))
            #expect(failure?.detail == "HTTP \(status)")
        }

        @Test func largeErrorPageIsStillHTTPStatus() async throws {
            let server = try TestHTTPServer(routes: [
                Fixtures.healthPath: .init(status: 500, body: [UInt8](repeating: 0x41, count: 200_000))
            ])
            defer { server.stop() }
            let prober = try HealthProber()
            defer { prober.shutdown() }
            #expect(Fixtures.failure(await prober.probe(server.baseURL))?.reason == .httpStatus(500))
        }

        @Test func redirectIsNeverFollowed() async throws {
            let server = try TestHTTPServer(routes: ["/target": Fixtures.json(workers: 16, active: 0)])
            defer { server.stop() }
            server.setRoute(Fixtures.healthPath, .init(status: 302, headers: [("Location", "\(server.baseURL)/target")]))
            let prober = try HealthProber()
            defer { prober.shutdown() }
            let failure = Fixtures.failure(await prober.probe(server.baseURL))
            #expect(failure?.reason == .redirect)
            #expect(failure?.detail.contains("/target") == true)
            #expect(server.requestCount(Fixtures.healthPath) == 1)
            #expect(server.requestCount("/target") == 0)
        }

        @Test func bodyOverCapIsBodyTooLarge() async throws {
            // A valid JSON object just over 64 KiB, so only the size can fail it.
            let padding = String(repeating: "x", count: 65_536)
            let server = try TestHTTPServer(routes: [
                Fixtures.healthPath: Fixtures.json(workers: 16, active: 0, extra: #","pad":"\#(padding)""#)
            ])
            defer { server.stop() }
            let prober = try HealthProber()
            defer { prober.shutdown() }
            let failure = Fixtures.failure(await prober.probe(server.baseURL))
            #expect(failure?.reason == .bodyTooLarge)
            #expect(failure?.detail == "body is larger than 65536 bytes")
        }

        @Test func bodyAtCapIsRead() async throws {
            let prefix = #"{"workers":16,"active_calls":1,"pad":""#
            let padding = String(repeating: "x", count: 65_536 - prefix.utf8.count - 2)
            let body = prefix + padding + "\"}"
            #expect(body.utf8.count == 65_536)
            let server = try TestHTTPServer(routes: [Fixtures.healthPath: .json(body)])
            defer { server.stop() }
            let prober = try HealthProber()
            defer { prober.shutdown() }
            #expect(try await prober.probe(server.baseURL).get().available == 15)
        }

        @Test func garbageIsInvalidJSON() async throws {
            let server = try TestHTTPServer(routes: [Fixtures.healthPath: .json("<html>ok</html>")])
            defer { server.stop() }
            let prober = try HealthProber()
            defer { prober.shutdown() }
            let failure = Fixtures.failure(await prober.probe(server.baseURL))
            #expect(failure?.reason == .invalidJSON)
            #expect(failure?.description.hasPrefix("invalid_json: ") == true)
        }

        @Test(arguments: [
            (#"{"active_calls":0}"#, "workers"),
            (#"{"workers":"16","active_calls":0}"#, "workers"),
            (#"{"workers":16,"active_calls":-1}"#, "active_calls"),
            (#"{"workers":16,"active_calls":0,"available":1.5}"#, "available"),
        ])
        func badFieldIsInvalidField(_ body: String, _ field: String) async throws {
            let server = try TestHTTPServer(routes: [Fixtures.healthPath: .json(body)])
            defer { server.stop() }
            let prober = try HealthProber()
            defer { prober.shutdown() }
            let failure = Fixtures.failure(await prober.probe(server.baseURL))
            #expect(failure?.reason == .invalidField(field))
            #expect(failure?.reason.code == "invalid_field")
        }

        @Test func nonHTTPSchemeIsRefused() async throws {
            let prober = try HealthProber()
            defer { prober.shutdown() }
            let failure = Fixtures.failure(await prober.probe("file:///etc"))
            #expect(failure?.reason == .connect)
            #expect(failure?.detail.lowercased().contains("protocol") == true, "\(String(describing: failure))")
        }
    }
}
