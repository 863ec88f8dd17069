import DispatchTestSupport
import Testing
@testable import HealthProber

extension ProberNetworkTests {
    /// Many probes at once, cancellation, connection reuse and shutdown.
    @Suite struct Concurrency {
        @Test func fiveHundredConcurrentProbesAcrossEightServers() async throws {
            var servers: [TestHTTPServer] = []
            defer { for server in servers { server.stop() } }
            for index in 0..<8 {
                servers.append(try TestHTTPServer(routes: [
                    Fixtures.healthPath: Fixtures.json(workers: 16, active: index)
                ]))
            }
            // Generous timeout: this checks that every answer reaches the right caller, not speed.
            let prober = try HealthProber(configuration: .init(timeout: .seconds(10)))
            defer { prober.shutdown() }
            let urls = (0..<500).map { servers[$0 % 8].baseURL }
            let outcomes = await prober.probe(urls)
            #expect(outcomes.count == 500)
            for (index, outcome) in outcomes.enumerated() {
                let report = try outcome.get()
                #expect(report.activeCalls == index % 8 && report.available == 16 - index % 8)
            }
            #expect(servers.map { $0.requestCount(Fixtures.healthPath) }.reduce(0, +) == 500)
            #expect(prober.activeTransferCount == 0)
        }

        @Test func cancellingABatchReturnsPromptlyAndLeavesNothing() async throws {
            let server = try TestHTTPServer(routes: [Fixtures.healthPath: .init(hang: true)])
            defer { server.stop() }
            let prober = try HealthProber(configuration: .init(timeout: .seconds(30)))
            defer { prober.shutdown() }
            let urls = Array(repeating: server.baseURL, count: 20)
            let batch = Task { await prober.probe(urls) }
            // Wait (bounded) until the server has seen the requests, so transfers are in flight.
            #expect(await Fixtures.eventually { server.requestCount(Fixtures.healthPath) == 20 })
            #expect(prober.activeTransferCount == 20)
            let clock = ContinuousClock()
            let cancelledAt = clock.now
            batch.cancel()
            let outcomes = await batch.value
            // Far inside the 30 s timeout, with room for a 2-core machine running the other suites.
            #expect(clock.now - cancelledAt < .seconds(2))
            #expect(outcomes.count == 20)
            #expect(outcomes.allSatisfy { (try? $0.get()) == nil })
            #expect(outcomes.compactMap { Fixtures.failure($0)?.reason }.allSatisfy { $0 == .cancelled })
            #expect(prober.activeTransferCount == 0)
        }

        @Test func probeInAnAlreadyCancelledTaskEndsAtOnce() async throws {
            let server = try TestHTTPServer(routes: [Fixtures.healthPath: .init(hang: true)])
            defer { server.stop() }
            let prober = try HealthProber(configuration: .init(timeout: .seconds(30)))
            defer { prober.shutdown() }
            let task = Task {
                withUnsafeCurrentTask { $0?.cancel() }
                return await prober.probe(server.baseURL)
            }
            let outcome = await task.value
            #expect(Fixtures.failure(outcome)?.reason == .cancelled)
            #expect(prober.activeTransferCount == 0)
        }

        @Test func hundredSequentialProbesReuseOneConnection() async throws {
            let server = try TestHTTPServer(routes: [Fixtures.healthPath: Fixtures.json(workers: 16, active: 3)])
            defer { server.stop() }
            let prober = try HealthProber()
            defer { prober.shutdown() }
            for _ in 0..<100 {
                #expect(try await prober.probe(server.baseURL).get().available == 13)
            }
            #expect(server.requestCount(Fixtures.healthPath) == 100)
            #expect(server.acceptedConnections <= 2, "opened \(server.acceptedConnections) connections")
        }

        @Test func serverClosingConnectionsIsHandled() async throws {
            // A server that closes after every answer: each probe needs a new connection and
            // still succeeds.
            let server = try TestHTTPServer(routes: [
                Fixtures.healthPath: .init(body: Array(#"{"workers":2,"active_calls":1}"#.utf8), close: true)
            ])
            defer { server.stop() }
            let prober = try HealthProber()
            defer { prober.shutdown() }
            for _ in 0..<10 {
                #expect(try await prober.probe(server.baseURL).get().available == 1)
            }
            #expect(server.acceptedConnections == 10)
        }

        @Test func shutdownFailsPendingProbesAndLaterOnes() async throws {
            let server = try TestHTTPServer(routes: [Fixtures.healthPath: .init(hang: true)])
            defer { server.stop() }
            let prober = try HealthProber(configuration: .init(timeout: .seconds(30)))
            let batch = Task { await prober.probe(Array(repeating: server.baseURL, count: 5)) }
            #expect(await Fixtures.eventually { server.requestCount(Fixtures.healthPath) == 5 })
            prober.shutdown()
            prober.shutdown()
            let outcomes = await batch.value
            #expect(outcomes.compactMap { Fixtures.failure($0)?.reason } == Array(repeating: .cancelled, count: 5))
            #expect(prober.activeTransferCount == 0)
            let late = Fixtures.failure(await prober.probe(server.baseURL))
            #expect(late?.reason == .cancelled)
            #expect(late?.detail == "prober shut down")
        }

        @Test func deinitStopsTheThread() async throws {
            let server = try TestHTTPServer(routes: [Fixtures.healthPath: Fixtures.json(workers: 1, active: 0)])
            defer { server.stop() }
            weak var weakProber: HealthProber?
            do {
                let prober = try HealthProber()
                weakProber = prober
                _ = try await prober.probe(server.baseURL).get()
            }
            #expect(weakProber == nil)
        }
    }
}
