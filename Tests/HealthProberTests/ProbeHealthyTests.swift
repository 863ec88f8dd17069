import DispatchTestSupport
import Testing
@testable import HealthProber

extension ProberNetworkTests {
    /// Healthy answers read into reports.
    @Suite struct Healthy {
        private func report(_ route: TestHTTPServer.Route) async throws -> HealthReport {
            let server = try TestHTTPServer(routes: [Fixtures.healthPath: route])
            defer { server.stop() }
            let prober = try HealthProber()
            defer { prober.shutdown() }
            return try await prober.probe(server.baseURL).get()
        }

        @Test func availableGiven() async throws {
            let report = try await report(Fixtures.json(workers: 16, active: 5, extra: #","available":7"#))
            #expect((report.workers, report.activeCalls, report.available, report.status) == (16, 5, 7, "ok"))
            #expect(report.isAcceptingCalls)
            #expect(report.latency > .zero && report.latency < .milliseconds(500))
        }

        @Test func availableAbsent() async throws {
            #expect(try await report(Fixtures.json(workers: 16, active: 5)).available == 11)
        }

        @Test func availableOverWorkersIsCapped() async throws {
            #expect(try await report(Fixtures.json(workers: 16, active: 0, extra: #","available":99"#)).available == 16)
        }

        @Test func statusDraining() async throws {
            let report = try await report(Fixtures.json(workers: 16, active: 0, extra: #","status":"draining""#))
            #expect(report.status == "draining")
            #expect(!report.isAcceptingCalls)
        }

        @Test func unknownFieldsIgnored() async throws {
            let report = try await report(
                Fixtures.json(workers: 8, active: 2, extra: #","uptime":12.5,"build":{"sha":"abc"},"tags":[]"#))
            #expect((report.workers, report.available) == (8, 6))
        }

        @Test func pathPrefixIsKept() async throws {
            let server = try TestHTTPServer(routes: ["/voxcore/health/fleet": Fixtures.json(workers: 4, active: 1)])
            defer { server.stop() }
            let prober = try HealthProber()
            defer { prober.shutdown() }
            let report = try await prober.probe("\(server.baseURL)/voxcore").get()
            #expect(report.available == 3)
            #expect(server.requestCount("/voxcore/health/fleet") == 1)
            #expect(server.requestCount(Fixtures.healthPath) == 0)
        }

        @Test func userAgentAndExtraHeadersAreSent() async throws {
            let server = try TestHTTPServer(routes: [Fixtures.healthPath: Fixtures.json(workers: 1, active: 0)])
            defer { server.stop() }
            let prober = try HealthProber(configuration: .init(extraHeaders: ["X-Fleet-Token": "s3cret"]))
            defer { prober.shutdown() }
            _ = try await prober.probe(server.baseURL).get()
            let headers = server.lastHeaders(Fixtures.healthPath)
            #expect(headers?["user-agent"] == "voxbridge-dispatch/\(HealthProber.version)")
            #expect(headers?["x-fleet-token"] == "s3cret")
            #expect(headers?["accept"] == "application/json")
        }

        @Test func startedAtIsWhenTheProbeBegan() async throws {
            let server = try TestHTTPServer(routes: [
                Fixtures.healthPath: .init(body: Array(#"{"workers":1,"active_calls":0}"#.utf8), delay: .milliseconds(50))
            ])
            defer { server.stop() }
            let prober = try HealthProber()
            defer { prober.shutdown() }
            let before = ContinuousClock.now
            let report = try await prober.probe(server.baseURL).get()
            let after = ContinuousClock.now
            #expect(report.startedAt >= before && report.startedAt <= after)
            #expect(report.latency >= .milliseconds(50))
        }
    }
}
