import DispatchHTTPServer
import DispatchTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
@testable import VoxBridgeDispatch

/// What one event stream read: its head and the `data` of its events.
struct StreamRead: Sendable {
    var status: Int
    var headers: [String: String]
    var events: [String]
    var types: [String]
    var ids: [String]
    var arrivals: [Duration]
}

/// Opens a stream and reads `count` events (fewer when it ends or stays silent), on a thread of
/// its own so the in-process service keeps the concurrency threads meanwhile.
func readEvents(port: Int, token: String? = nil, count: Int) async throws -> StreamRead {
    try await offThread {
        let start = ContinuousClock.now
        let client = try EventStreamClient(port: port, token: token)
        var read = StreamRead(status: client.statusCode, headers: client.headers, events: [], types: [], ids: [], arrivals: [])
        guard client.statusCode == 200 else { return read }
        while read.events.count < count, let event = client.next() {
            read.types.append(event.type ?? "(none)")
            read.events.append(event.data)
            read.ids.append(event.id ?? "")
            read.arrivals.append(ContinuousClock.now - start)
        }
        return read
    }
}

@Suite("GET /v1/fleet/events: the live fleet for the operator's page", .serialized, .ownThreads)
struct FleetEventStreamTests {
    static let picker = "pick-token-events"

    @Test("5 events, at least one a second, each GET /v1/fleet's answer plus totals")
    func fiveEventsMatchFleet() async throws {
        let fakes = [try await FakeFleetServer(available: 11), try await FakeFleetServer(available: 3, workers: 8),
                     try await FakeFleetServer(available: 16, status: "draining")]
        let app = try TestApplication(pickToken: Self.picker)
        try await app.setFleet(fakes.map(\.url) + ["http://127.0.0.1:1"])
        let spec = try OpenAPISpec.load()
        try await app.test(.live) { client in
            let port = try #require(client.port)
            // Two picks, so the totals have something to count; an operator's state the events carry.
            _ = try await client.pick(headers: .bearer(Self.picker))
            _ = try await client.pick(headers: .bearer(Self.picker))
            try await client.execute(uri: "/v1/fleet/admin", method: .put,
                                     body: ByteBuffer(string: #"{"url": "http://127.0.0.1:1", "state": "maintenance", "reason": "rack move"}"#)) { response in
                #expect(response.status == .ok)
            }
            let read = try await readEvents(port: port, token: Self.picker, count: 5)
            #expect(read.status == 200)
            #expect(read.headers["content-type"] == "text/event-stream; charset=utf-8")
            #expect(spec.problems(method: "GET", path: "/v1/fleet/events", status: 200, headers: read.headers, body: Data()).isEmpty)
            #expect(read.events.count == 5)
            #expect(read.types.allSatisfy { $0 == "fleet" }, "\(read.types)")
            #expect(read.ids == read.ids.sorted { Int($0) ?? 0 < Int($1) ?? 0 } && Set(read.ids).count == read.ids.count)
            // The first at once, then one at least every second (with slack for a loaded machine).
            let seconds = read.arrivals.map { String(format: "%.3f s", Double($0.components.attoseconds) / 1e18 + Double($0.components.seconds)) }
            print("events arrived after \(seconds.joined(separator: ", "))")
            #expect(try #require(read.arrivals.first) < .seconds(1))
            for (earlier, later) in zip(read.arrivals, read.arrivals.dropFirst()) {
                #expect(later - earlier < .milliseconds(1_600), "\(read.arrivals)")
            }

            let fleet = try await client.execute(uri: "/v1/fleet", method: .get, headers: .bearer(Self.picker)) { json($0.body) }
            let fleetServers = try #require(fleet["servers"] as? [[String: Any]])
            for data in read.events.suffix(2) {
                let event = json(Data(data.utf8))
                let maintained = (event["servers"] as? [[String: Any]])?.last
                #expect(maintained?["admin_state"] as? String == "maintenance" && maintained?["admin_reason"] as? String == "rack move")
                #expect(event["version"] as? Int == fleet["version"] as? Int)
                let servers = try #require(event["servers"] as? [[String: Any]])
                #expect(Set(event.keys) == Set(fleet.keys).union(["totals", "cluster"]))
                #expect(servers.map { $0["url"] as? String } == fleetServers.map { $0["url"] as? String })
                for (seen, asked) in zip(servers, fleetServers) {
                    #expect(Set(seen.keys) == Set(asked.keys))
                    for key in ["url", "state", "workers", "active_calls", "available", "admin_state", "admin_reason", "admin_since"] {
                        #expect("\(seen[key] ?? "nil")" == "\(asked[key] ?? "nil")", "\(key) of \(seen["url"] ?? "")")
                    }
                    // The refused port keeps failing in the background: later answers only count
                    // more. (A healthy fake's count may rise and fall back to 0 in between: one
                    // probe timed out on a busy machine, the next answered.)
                    if seen["url"] as? String == "http://127.0.0.1:1" {
                        #expect((seen["consecutive_failures"] as? Int ?? .max) <= (asked["consecutive_failures"] as? Int ?? -1))
                    } else {
                        #expect(seen["consecutive_failures"] is Int)
                    }
                }
                let totals = try #require(event["totals"] as? [String: Any])
                #expect(totals["servers"] as? Int == 4)
                #expect(totals["servers_up"] as? Int == 2)
                #expect(totals["workers"] as? Int == 24)
                #expect(totals["picks_total"] as? Int == 2)
                #expect((totals["probes_total"] as? Int ?? 0) > 0)
                #expect((totals["probes_per_second"] as? Double ?? 0) > 0)
                #expect(totals["generated_at"] is String)
                // The event's data matches the FleetEvent schema.
                let asJSON = try JSONDecoder().decode(OpenAPISpec.JSONValue.self, from: Data(data.utf8))
                let schema = try #require(spec.resolve("#/components/schemas/FleetEvent"))
                #expect(spec.check(asJSON, schema, at: "FleetEvent").isEmpty)
            }
        }
        for fake in fakes { await fake.stop() }
    }

    @Test("the pick token guards the stream; HEAD answers without holding a stream")
    func guarded() async throws {
        let app = try TestApplication(pickToken: Self.picker)
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let refused = try await readEvents(port: port, count: 1)
            #expect(refused.status == 401)
            let wrong = try await readEvents(port: port, token: "nope", count: 1)
            #expect(wrong.status == 401)
            try await client.execute(uri: "/v1/fleet/events", method: .head, headers: .bearer(Self.picker)) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/event-stream; charset=utf-8")
            }
        }
    }

    @Test("streams are bounded: one past the limit gets 503 too_many_streams; a closed one frees its slot")
    func bounded() async throws {
        let app = try TestApplication { $0.events.maximumStreams = 2 }
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let outcome: (Int, Int, String, Int) = try await offThread {
                let first = try EventStreamClient(port: port)
                let second = try EventStreamClient(port: port)
                _ = first.next()
                _ = second.next()
                let third = try EventStreamClient(port: port)
                let refusedStatus = third.statusCode
                let retryAfter = third.headers["retry-after"] ?? ""
                first.disconnect()
                // The slot is freed at the next event the closed stream fails to take (≤ 1 s).
                var reopened = 0
                for _ in 0..<30 where reopened != 200 {
                    usleep(200_000)
                    reopened = try EventStreamClient(port: port).statusCode
                }
                return (second.statusCode, refusedStatus, retryAfter, reopened)
            }
            #expect(outcome.0 == 200)
            #expect(outcome.1 == 503)
            #expect(outcome.2 == "5")
            #expect(outcome.3 == 200)
        }
    }

    @Test("SIGTERM ends open streams and serve exits promptly with status 0")
    func shutdownEndsStreams() async throws {
        let folder = TemporaryFolder()
        let serve = try ServeProcess(["--db", folder.file("events.sqlite")], logFile: folder.file("serve.log"))
        let port = serve.port
        let pid = serve.process.processIdentifier
        let (firstEvent, endedInTime, exitTime): (Bool, Bool, Duration) = try await offThread {
            let streams = try (0..<3).map { _ in try EventStreamClient(port: port) }
            let gotEvents = streams.allSatisfy { $0.next() != nil }
            let start = ContinuousClock.now
            kill(pid, SIGTERM)
            let ended = streams.allSatisfy { $0.readsToEnd() }
            return (gotEvents, ended, ContinuousClock.now - start)
        }
        #expect(firstEvent)
        #expect(endedInTime, "the streams did not end")
        #expect(exitTime < .seconds(3))
        let deadline = ContinuousClock.now + .seconds(5)
        while serve.process.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(!serve.process.isRunning)
        #expect(serve.process.terminationStatus == 0)
    }
}
