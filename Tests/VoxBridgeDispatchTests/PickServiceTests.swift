import DispatchHTTPServer
import Foundation
import Hummingbird
import HummingbirdTesting
import SettingsStore
import Synchronization
import Testing
@testable import VoxBridgeDispatch

/// A decoded pick answer.
struct PickAnswer {
    var status: HTTPResponse.Status
    var body: [String: Any]
    var server: String? { body["server"] as? String }
    var reservationID: String? { body["reservation_id"] as? String }
}

extension TestClientProtocol {
    /// `POST /v1/pick`, optionally excluding servers.
    func pick(excluding: [String]? = nil, headers: HTTPFields = [:]) async throws -> PickAnswer {
        let body = excluding.map { ByteBuffer(string: #"{"exclude": ["# + $0.map { "\"\($0)\"" }.joined(separator: ",") + "]}") }
        return try await execute(uri: "/v1/pick", method: .post, headers: headers, body: body) { response in
            PickAnswer(status: response.status, body: json(response.body))
        }
    }
}

/// How a test reaches the application: Hummingbird's router test client (no socket), or a live
/// loopback connection, where picks that can be answered at once are answered by
/// ``PickFastPathHandler`` before the router; tests of the pick's answers run both ways.
enum Transport: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case router, live

    var setup: TestingSetup { self == .router ? .router : .live }
    var testDescription: String { rawValue }
}

@Suite("Pick service: /v1/pick, /v1/release, /v1/fleet, /metrics against fake fleet servers", .serialized)
struct PickServiceTests {
    @Test("the server with the most available capacity wins, with its figures", arguments: Transport.allCases)
    func mostAvailableWins(transport: Transport) async throws {
        let fakes = [try await FakeFleetServer(available: 3), try await FakeFleetServer(available: 11), try await FakeFleetServer(available: 7)]
        let app = try TestApplication()
        try await app.setFleet(fakes.map(\.url))
        try await app.test(transport.setup) { client in
            let answer = try await client.pick()
            #expect(answer.status == .ok)
            #expect(answer.server == fakes[1].url)
            #expect(answer.body["available"] as? Int == 11)
            #expect(answer.body["workers"] as? Int == 16)
            #expect(answer.reservationID?.isEmpty == false)
            #expect(answer.body["elapsed_ms"] is Double)
            // The reservation counts: the next pick sees 10 free there, still the most.
            #expect(try await client.pick().body["available"] as? Int == 10)
        }
        for fake in fakes { await fake.stop() }
    }

    @Test("ties are broken at random: two equal servers share the picks", arguments: Transport.allCases)
    func tiesSpread(transport: Transport) async throws {
        let fakes = [try await FakeFleetServer(available: 400, workers: 400), try await FakeFleetServer(available: 400, workers: 400)]
        let app = try TestApplication()
        try await app.setFleet(fakes.map(\.url))
        try await app.test(transport.setup) { client in
            var counts: [String: Int] = [:]
            for _ in 0..<200 {
                let answer = try await client.pick()
                counts[answer.server ?? "none", default: 0] += 1
                // Release at once, so the two stay equal.
                _ = try await client.execute(uri: "/v1/release", method: .post, body: ByteBuffer(string: #"{"reservation_id":"\#(answer.reservationID ?? "")"}"#))
            }
            #expect(counts.keys.sorted() == fakes.map(\.url).sorted())
            #expect(counts.values.allSatisfy { (60...140).contains($0) }, "\(counts)")
        }
        for fake in fakes { await fake.stop() }
    }

    @Test("excluded and draining servers are never picked; exclude entries are normalised", arguments: Transport.allCases)
    func excludeAndDraining(transport: Transport) async throws {
        let best = try await FakeFleetServer(available: 15)
        let draining = try await FakeFleetServer(available: 16, status: "draining")
        let other = try await FakeFleetServer(available: 4)
        let app = try TestApplication()
        try await app.setFleet([best.url, draining.url, other.url])
        try await app.test(transport.setup) { client in
            #expect(try await client.pick().server == best.url)
            let spelledOtherwise = best.url.replacingOccurrences(of: "http://", with: "HTTP://") + "/"
            #expect(try await client.pick(excluding: [spelledOtherwise]).server == other.url)

            let none = try await client.pick(excluding: [best.url, other.url])
            #expect(none.status == .serviceUnavailable)
            #expect(none.body["error"] as? String == "no_capacity")
            let servers = try #require(none.body["servers"] as? [[String: Any]])
            let reasons = Dictionary(uniqueKeysWithValues: servers.map { ($0["url"] as? String ?? "", $0["reason"] as? String ?? "") })
            #expect(reasons[best.url] == "excluded")
            #expect(reasons[other.url] == "excluded")
            #expect(reasons[draining.url]?.contains("draining") == true)
            #expect(servers.allSatisfy { $0["state"] is String })

            let bad = try await client.pick(excluding: ["not a url"])
            #expect(bad.status == .badRequest)
        }
        for fake in [best, draining, other] { await fake.stop() }
    }

    @Test("every probe failure reason is passed over while the service keeps serving")
    func failingServersNeverPicked() async throws {
        let good = try await FakeFleetServer(available: 1)
        let failing: [FakeFleetServer] = [
            try await FakeFleetServer(available: 16, mode: .hang),
            try await FakeFleetServer(available: 16, mode: .status(500)),
            try await FakeFleetServer(available: 16, mode: .status(404)),
            try await FakeFleetServer(available: 16, mode: .invalidJSON),
            try await FakeFleetServer(available: 16, mode: .redirect),
            try await FakeFleetServer(available: 16, mode: .oversizedBody),
            try await FakeFleetServer(available: 16, mode: .invalidField),
        ]
        let closed = "http://127.0.0.1:1"
        // A label longer than DNS allows (63): the resolver refuses it without sending a query.
        let unresolvable = "http://" + String(repeating: "a", count: 70) + ".invalid"
        let notTLS = "https://127.0.0.1:\(good.port)"  // TLS to a plain HTTP server
        // 1 s: the hanging server must time out, and the good one must not, on a busy machine too.
        let app = try TestApplication { $0.probeTimeout = .seconds(1) }
        try await app.setFleet(failing.map(\.url) + [closed, unresolvable, notTLS, good.url])
        try await app.test { client in
            let answer = try await client.pick()
            #expect(answer.status == .ok)
            #expect(answer.server == good.url)

            let none = try await client.pick()  // the one free worker is reserved now
            #expect(none.status == .serviceUnavailable)
            let servers = try #require(none.body["servers"] as? [[String: Any]])
            let reasons = servers.map { ($0["url"] as? String ?? "") + " " + ($0["reason"] as? String ?? "") }.joined(separator: "\n")
            for code in ["timeout", "http_status", "invalid_json", "redirect", "body_too_large", "invalid_field", "connect", "dns", "tls"] {
                #expect(reasons.contains(code), "no server passed over for \(code):\n\(reasons)")
            }
            try await client.execute(uri: "/health", method: .get) { response in #expect(response.status == .ok) }
        }
        for fake in failing + [good] { await fake.stop() }
    }

    @Test("an empty fleet answers 503 fleet_empty", arguments: Transport.allCases)
    func emptyFleet(transport: Transport) async throws {
        try await TestApplication().test(transport.setup) { client in
            let answer = try await client.pick()
            #expect(answer.status == .serviceUnavailable)
            #expect(answer.body["error"] as? String == "fleet_empty")
            #expect(answer.body["message"] is String)
        }
    }

    @Test("full servers give 503 no_capacity with a reason per server", arguments: Transport.allCases)
    func noCapacity(transport: Transport) async throws {
        let full = try await FakeFleetServer(available: 0)
        let app = try TestApplication()
        try await app.setFleet([full.url, "http://127.0.0.1:1"])
        try await app.test(transport.setup) { client in
            let answer = try await client.pick()
            #expect(answer.status == .serviceUnavailable)
            #expect(answer.body["error"] as? String == "no_capacity")
            let servers = try #require(answer.body["servers"] as? [[String: Any]])
            #expect(servers.count == 2)
            #expect(servers.first?["reason"] as? String == "full")
            #expect((servers.last?["reason"] as? String)?.contains("connect") == true)
        }
        await full.stop()
    }

    @Test("a PUT is used by the very next pick", arguments: Transport.allCases)
    func putUsedByNextPick(transport: Transport) async throws {
        let first = try await FakeFleetServer(available: 5)
        let second = try await FakeFleetServer(available: 9)
        let app = try TestApplication()
        try await app.setFleet([first.url])
        try await app.test(transport.setup) { client in
            #expect(try await client.pick().server == first.url)
            let body = ByteBuffer(string: #"{"voxcore_fleet": ["\#(first.url)", "\#(second.url)"]}"#)
            try await client.execute(uri: "/v1/settings/voxcore_fleet", method: .put, body: body) { response in
                #expect(response.status == .ok)
            }
            #expect(try await client.pick().server == second.url)
            try await client.execute(uri: "/v1/settings/voxcore_fleet", method: .put, body: ByteBuffer(string: #"{"voxcore_fleet": []}"#)) { _ in }
            #expect(try await client.pick().body["error"] as? String == "fleet_empty")
        }
        for fake in [first, second] { await fake.stop() }
    }

    @Test("a fleet CLI change in another process is used by the very next pick", arguments: Transport.allCases)
    func cliChangeUsedByNextPick(transport: Transport) async throws {
        let first = try await FakeFleetServer(available: 5)
        let second = try await FakeFleetServer(available: 9)
        let app = try TestApplication()
        try await app.setFleet([first.url])
        try await app.test(transport.setup) { client in
            #expect(try await client.pick().server == first.url)
            let added = try await DispatchProcess.run(["fleet", "add", second.url, "--db", app.databasePath])
            #expect(added.status == 0, "\(added.standardError)")
            #expect(try await client.pick().server == second.url)
            let removed = try await DispatchProcess.run(["fleet", "remove", second.url, "--db", app.databasePath])
            #expect(removed.status == 0)
            #expect(try await client.pick().server == first.url)
        }
        for fake in [first, second] { await fake.stop() }
    }

    @Test("release drops a reservation at once; an unknown id is 404", arguments: Transport.allCases)
    func release(transport: Transport) async throws {
        let fake = try await FakeFleetServer(available: 1)
        let app = try TestApplication()
        try await app.setFleet([fake.url])
        try await app.test(transport.setup) { client in
            let answer = try await client.pick()
            let id = try #require(answer.reservationID)
            #expect(try await client.pick().status == .serviceUnavailable, "the one worker is reserved")

            try await client.execute(uri: "/v1/release", method: .post, body: ByteBuffer(string: #"{"reservation_id": "\#(id)"}"#)) { response in
                #expect(response.status == .ok)
            }
            #expect(try await client.pick().server == fake.url, "released: free again")

            try await client.execute(uri: "/v1/release", method: .post, body: ByteBuffer(string: #"{"reservation_id": "\#(id)"}"#)) { response in
                #expect(response.status == .notFound)
                #expect(json(response.body)["error"] as? String == "unknown_reservation")
            }
            for body in ["", "{}", #"{"reservation_id": 5}"#, "[", #"{"reservation_id": ""}"#] {
                try await client.execute(uri: "/v1/release", method: .post, body: ByteBuffer(string: body)) { response in
                    #expect(response.status == .badRequest, "\(body)")
                }
            }
        }
        await fake.stop()
    }

    @Test("release reasons: busy and failed hold the server back until a probe after them; unknown reasons are refused", arguments: Transport.allCases)
    func releaseReasons(transport: Transport) async throws {
        // Health answers take 300 ms, so the probe a report asks for is still out while the
        // test looks; readings stay fresh for 2 s meanwhile.
        let fakes = [try await FakeFleetServer(available: 9, latency: .milliseconds(300)), try await FakeFleetServer(available: 4)]
        let app = try TestApplication { $0.freshness = .seconds(2) }
        try await app.setFleet(fakes.map(\.url))
        try await app.test(transport.setup) { client in
            func release(_ id: String, _ reason: String) async throws -> (HTTPResponse.Status, [String: Any]) {
                try await client.execute(uri: "/v1/release", method: .post,
                                         body: ByteBuffer(string: #"{"reservation_id": "\#(id)", "reason": \#(reason)}"#)) { ($0.status, json($0.body)) }
            }
            func server(_ url: String) async throws -> [String: Any] {
                try await client.execute(uri: "/v1/fleet", method: .get) { response in
                    (json(response.body)["servers"] as? [[String: Any]] ?? []).first { $0["url"] as? String == url } ?? [:]
                }
            }
            /// Waits, at most 5 s, for the report's probe to answer and lift the hold.
            func waitForTheHoldToLift(_ url: String) async throws {
                let deadline = ContinuousClock.now + .seconds(5)
                while try await server(url)["held_by_report"] is String, ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(20))
                }
                #expect(try await server(url)["held_by_report"] is NSNull)
            }

            for reason in ["busy", "failed"] {
                let pick = try await client.pick()
                #expect(pick.server == fakes[0].url)
                let id = try #require(pick.reservationID)
                let reserved = try await server(fakes[0].url)["reserved"] as? Int
                for bad in [#""lost""#, "5", "[]", #""BUSY""#] {
                    let (status, body) = try await release(id, bad)
                    #expect(status == .badRequest && body["error"] as? String == "invalid_request", "\(bad)")
                }
                // Refused bodies changed nothing: the reservation is still there.
                #expect(try await server(fakes[0].url)["reserved"] as? Int == reserved)
                let (status, body) = try await release(id, #""\#(reason)""#)
                #expect(status == .ok && body["reason"] as? String == reason)
                let held = try await server(fakes[0].url)
                #expect(held["held_by_report"] as? String == reason)
                #expect((held["reports_last_minute"] as? [String: Any])?[reason] as? Int == 1)
                #expect(held["consecutive_failures"] as? Int == (reason == "failed" ? 1 : 0))
                // Held back: the next pick goes to the other server, though this one has more free.
                #expect(try await client.pick().server == fakes[1].url)
                try await waitForTheHoldToLift(fakes[0].url)
                #expect(try await client.pick().server == fakes[0].url)
            }
            let (status, body) = try await release(try #require(try await client.pick().reservationID), "null")
            #expect(status == .ok && body["reason"] as? String == "not_placed")
            try await client.execute(uri: "/metrics", method: .get) { response in
                let text = String(buffer: response.body)
                for line in [#"voxbridge_releases_total{reason="busy"} 1"#, #"voxbridge_releases_total{reason="failed"} 1"#,
                             #"voxbridge_releases_total{reason="not_placed"} 1"#] {
                    #expect(text.contains(line), "missing \(line)")
                }
            }
        }
        for fake in fakes { await fake.stop() }
    }

    @Test("a drained server is never picked; maintenance likewise; resume makes it pickable; the list's ETag stays", arguments: Transport.allCases)
    func operatorStates(transport: Transport) async throws {
        let fakes = [try await FakeFleetServer(available: 12), try await FakeFleetServer(available: 4)]
        let app = try TestApplication { $0.freshness = .seconds(2) }
        try await app.setFleet(fakes.map(\.url))
        try await app.test(transport.setup) { client in
            func setState(_ body: String) async throws -> (HTTPResponse.Status, [String: Any]) {
                try await client.execute(uri: "/v1/fleet/admin", method: .put, body: ByteBuffer(string: body)) { ($0.status, json($0.body)) }
            }
            func etag() async throws -> String? {
                try await client.execute(uri: "/v1/settings/voxcore_fleet", method: .get) { $0.headers[.eTag] }
            }
            let before = try await etag()
            #expect(try await client.pick().server == fakes[0].url, "the emptiest")
            let (status, record) = try await setState(#"{"url": "\#(fakes[0].url)/", "state": "draining", "reason": "upgrade", "by": "maria"}"#)
            #expect(status == .ok && record["state"] as? String == "draining" && record["by"] as? String == "maria")
            for _ in 0..<3 { #expect(try await client.pick().server == fakes[1].url, "never the drained one") }
            let servers = try await client.execute(uri: "/v1/fleet", method: .get) { json($0.body)["servers"] as? [[String: Any]] ?? [] }
            #expect(servers.map { $0["admin_state"] as? String } == ["draining", "active"])
            #expect(servers.first?["admin_reason"] as? String == "upgrade" && servers.first?["admin_since"] is String)
            try await client.execute(uri: "/metrics", method: .get) { response in
                let text = String(buffer: response.body)
                #expect(text.contains(#"voxbridge_fleet_servers_by_operator_state{state="draining"} 1"#))
                #expect(text.contains(#"voxbridge_fleet_servers_by_operator_state{state="active"} 1"#))
            }
            // Both drained: no capacity, each named by its operator state.
            _ = try await setState(#"{"url": "\#(fakes[1].url)", "state": "maintenance"}"#)
            try await client.execute(uri: "/v1/pick", method: .post) { response in
                #expect(response.status == .serviceUnavailable)
                let reasons = (json(response.body)["servers"] as? [[String: Any]] ?? []).map { $0["reason"] as? String }
                #expect(reasons == ["draining (operator): no new dialouts", "maintenance (operator): no dialouts"])
            }
            // A refused change alters nothing.
            let version = try await client.execute(uri: "/v1/fleet/admin", method: .get) { json($0.body)["version"] as? Int }
            #expect(try await setState(#"{"url": "\#(fakes[0].url)", "state": "paused"}"#).0 == .badRequest)
            #expect(try await setState(#"{"url": "https://not-listed.example.com", "state": "active"}"#).0 == .notFound)
            #expect(try await client.execute(uri: "/v1/fleet/admin", method: .get) { json($0.body)["version"] as? Int } == version)
            _ = try await setState(#"{"url": "\#(fakes[0].url)", "state": "active"}"#)
            #expect(try await client.pick().server == fakes[0].url, "resumed")
            #expect(try await etag() == before, "state changes never move the list's ETag")
        }
        for fake in fakes { await fake.stop() }
    }

    @Test("failed releases past the cap hold nothing back: counted in /v1/fleet and /metrics, picks go on", arguments: Transport.allCases)
    func failedReportsCapped(transport: Transport) async throws {
        // Two healthy servers: callers' reports may hold back max(1, floor(2 × 50 %)) = 1. Health
        // answers take 2 s, so a report's probe is still out while the test looks (readings stay
        // fresh for 5 s meanwhile).
        let fakes = [try await FakeFleetServer(available: 9, latency: .seconds(2)), try await FakeFleetServer(available: 4, latency: .seconds(2))]
        let app = try TestApplication {
            $0.freshness = .seconds(5)
            $0.probeTimeout = .seconds(3)
        }
        try await app.setFleet(fakes.map(\.url))
        try await app.test(transport.setup) { client in
            func releaseFailed(_ pick: PickAnswer) async throws -> HTTPResponse.Status {
                try await client.execute(uri: "/v1/release", method: .post,
                                         body: ByteBuffer(string: #"{"reservation_id": "\#(pick.reservationID ?? "")", "reason": "failed"}"#)) { $0.status }
            }
            let first = try await client.pick()
            #expect(first.server == fakes[0].url)
            #expect(try await releaseFailed(first) == .ok)
            let second = try await client.pick()
            #expect(second.server == fakes[1].url, "the first is held back")
            #expect(try await releaseFailed(second) == .ok, "a report past the cap is still accepted")
            let servers = try await client.execute(uri: "/v1/fleet", method: .get) { json($0.body)["servers"] as? [[String: Any]] ?? [] }
            let reports = servers.map { $0["reports_last_minute"] as? [String: Any] ?? [:] }
            #expect(servers.map { $0["held_by_report"] as? String } == ["failed", nil])
            #expect(reports.map { $0["capped"] as? Int } == [0, 1])
            #expect(reports.map { $0["failed"] as? Int } == [1, 1])
            #expect(try await client.pick().server == fakes[1].url, "the second still takes calls")
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(String(buffer: response.body).contains("voxbridge_release_reports_capped_total 1"))
            }
        }
        for fake in fakes { await fake.stop() }
    }

    @Test("the pick token guards pick, release, fleet and settings reads; the admin token works there too", arguments: Transport.allCases)
    func tokens(transport: Transport) async throws {
        let fake = try await FakeFleetServer(available: 4)
        let app = try TestApplication(adminToken: "admin-secret", pickToken: "pick-secret")
        try await app.setFleet([fake.url])
        try await app.test(transport.setup) { client in
            for (uri, method) in [("/v1/pick", HTTPRequest.Method.post), ("/v1/release", .post), ("/v1/fleet", .get), ("/v1/settings/voxcore_fleet", .get)] {
                for headers: HTTPFields in [[:], .bearer("wrong")] {
                    try await client.execute(uri: uri, method: method, headers: headers) { response in
                        #expect(response.status == .unauthorized, "\(method) \(uri)")
                    }
                }
            }
            #expect(try await client.pick(headers: .bearer("pick-secret")).status == .ok)
            #expect(try await client.pick(headers: .bearer("admin-secret")).status == .ok)
            try await client.execute(uri: "/v1/fleet", method: .get, headers: .bearer("pick-secret")) { response in
                #expect(response.status == .ok)
            }
        }
        await fake.stop()
    }

    @Test("GET /v1/fleet shows each server's state and figures")
    func fleetView() async throws {
        let up = try await FakeFleetServer(available: 6, workers: 8)
        let app = try TestApplication()
        try await app.setFleet([up.url, "http://127.0.0.1:1"])
        try await app.test { client in
            _ = try await client.pick()
            try await client.execute(uri: "/v1/fleet", method: .get) { response in
                #expect(response.status == .ok)
                let body = json(response.body)
                #expect(body["version"] as? Int == 1)
                let servers = body["servers"] as? [[String: Any]] ?? []
                #expect(servers.count == 2)
                let first = servers.first ?? [:]
                #expect(first["url"] as? String == up.url)
                #expect(first["state"] as? String == "up")
                #expect(first["available"] as? Int == 6)
                #expect(first["workers"] as? Int == 8)
                #expect(first["active_calls"] as? Int == 2)
                #expect(first["reserved"] as? Int == 1)
                #expect(first["last_probe_at"] is String)
                #expect(first["last_latency_ms"] is Double)
                #expect(first["consecutive_failures"] as? Int == 0)
                let second = servers.last ?? [:]
                #expect(["unknown", "down"].contains(second["state"] as? String))
                #expect((second["last_error"] as? String)?.hasPrefix("connect") == true)
                // The pick's probe failed; the refresh schedule may have failed another since.
                #expect((second["consecutive_failures"] as? Int ?? 0) >= 1)
                for key in ["url", "state", "available", "workers", "active_calls", "reserved", "last_probe_at", "last_latency_ms", "last_error", "consecutive_failures"] {
                    #expect(first.keys.contains(key) && second.keys.contains(key), "missing \(key)")
                }
            }
        }
        await up.stop()
    }

    @Test("/metrics has the contract's metric names", arguments: Transport.allCases)
    func metrics(transport: Transport) async throws {
        let fake = try await FakeFleetServer(available: 4)
        let app = try TestApplication { $0.freshness = .seconds(30) }
        try await app.setFleet([fake.url])
        try await app.test(transport.setup) { client in
            // The first pick probes, or joins the background refresh's first probe (the route
            // answers it); live, the second is answered by the fast path (readings stay fresh
            // for 30 s here): both are counted alike.
            _ = try await client.pick()
            _ = try await client.pick()
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .ok)
                let text = String(buffer: response.body)
                for name in [
                    #"voxbridge_picks_total{outcome="picked"} 2"#, "voxbridge_pick_duration_seconds_bucket",
                    "voxbridge_pick_duration_seconds_count 2", #"voxbridge_probes_total{result="ok"} 1"#,
                    #"voxbridge_fleet_server_available{server="\#(fake.url)"} 4"#, #"voxbridge_fleet_server_up{server="\#(fake.url)"} 1"#,
                    "voxbridge_reservations_in_flight 2",
                ] {
                    #expect(text.contains(name), "missing \(name)")
                }
                // Live, the second pick is answered in the pipeline, and the first too when the
                // background refresh had a reading ready before it arrived.
                let inPipeline = transport == .live ? ["1", "2"] : ["0"]
                #expect(inPipeline.contains { text.contains("voxbridge_picks_answered_in_pipeline_total \($0)\n") })
            }
        }
        await fake.stop()
    }

    @Test("pipelined requests on one connection are answered in order, whichever path answers each")
    func pipelinedAnswersInOrder() async throws {
        let fake = try await FakeFleetServer(available: 100, workers: 100)
        let app = try TestApplication { $0.freshness = .seconds(30) }
        try await app.setFleet([fake.url])
        try await app.test(.live) { client in
            _ = try await client.pick()  // fresh readings: later picks can be answered at once
            let port = try #require(client.port)
            let connection = try RawHTTPConnection(port: port)
            let pick = "POST /v1/pick HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
            // A router request, then picks the fast path could answer at once, in one write:
            // they must wait for the answer before them.
            try connection.send("GET /v1/fleet HTTP/1.1\r\nHost: x\r\n\r\n" + pick + pick + "GET /health HTTP/1.1\r\nHost: x\r\n\r\n" + pick)
            let answers = connection.answers(5)
            #expect(answers.count == 5)
            guard answers.count == 5 else { return }
            #expect(answers[0].body.contains(#""servers""#))
            #expect(answers[1].body.contains(#""reservation_id""#) && answers[2].body.contains(#""reservation_id""#))
            #expect(answers[3].body == #"{"status":"ok"}"#)
            #expect(answers[4].body.contains(#""reservation_id""#))
            #expect(answers.allSatisfy { $0.statusLine.hasPrefix("HTTP/1.1 200") && $0.header("Date") != nil })
            // Then alone on the connection, a pick is answered in the pipeline, with the same headers.
            try connection.send(pick)
            let alone = try #require(connection.answers(1).first)
            #expect(alone.statusLine.hasPrefix("HTTP/1.1 200"))
            #expect(alone.header("Content-Type") == "application/json")
            #expect(alone.header("Content-Length") == String(alone.body.utf8.count))

            // Connection: close is honoured, and a pick sent after it is not answered.
            let closing = try RawHTTPConnection(port: port)
            try closing.send("POST /v1/pick HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n" + pick)
            let closingAnswers = closing.answers(2)
            #expect(closingAnswers.count == 1)
            #expect(closingAnswers.first?.body.contains(#""reservation_id""#) == true)
            #expect(closing.isClosedByServer())

            try await client.execute(uri: "/metrics", method: .get) { response in
                let text = String(buffer: response.body)
                // 1 warm-up + 3 pipelined + 1 alone + 1 closing; of the pipelined and closing ones
                // none came early, the one alone did, and the warm-up too when the background
                // refresh had a reading ready before it arrived (as in the sequential-picks test).
                #expect(text.contains(#"voxbridge_picks_total{outcome="picked"} 6"#), "\(text)")
                #expect(["1", "2"].contains { text.contains("voxbridge_picks_answered_in_pipeline_total \($0)\n") }, "\(text)")
            }
        }
        await fake.stop()
    }

    @Test("herd over HTTP: 64 concurrent picks on 10, 20, 16 and 18 free never overflow a server")
    func herd() async throws {
        let free = [10, 20, 16, 18]
        var fakes: [FakeFleetServer] = []
        for available in free { fakes.append(try await FakeFleetServer(available: available, workers: 32)) }
        let app = try TestApplication()
        try await app.setFleet(fakes.map(\.url))
        let urls = fakes.map(\.url)
        try await app.test(.live) { client in
            let servers = try await withThrowingTaskGroup(of: String?.self) { group in
                for _ in 0..<64 { group.addTask { try await client.pick().server } }
                var servers: [String?] = []
                for try await server in group { servers.append(server) }
                return servers
            }
            #expect(servers.allSatisfy { $0 != nil }, "all 64 fit in 64 free workers")
            for (url, capacity) in zip(urls, free) {
                let count = servers.filter { $0 == url }.count
                #expect(count <= capacity, "\(url): \(count) picks for \(capacity) free")
            }
        }
        for fake in fakes { await fake.stop() }
    }

    @Test("a dead server, once down, does not slow picks: 50 sequential picks each under 100 ms")
    func deadServer() async throws {
        var healthy: [FakeFleetServer] = []
        for available in [5, 6, 7, 8] { healthy.append(try await FakeFleetServer(available: available * 10, workers: 100)) }
        let dead = try await FakeFleetServer(mode: .hang)
        let app = try TestApplication { $0.probeTimeout = .milliseconds(500) }
        try await app.setFleet(healthy.map(\.url) + [dead.url])
        try await app.test { client in
            // Until the dead server is down (3 timeouts), picks wait for its probe.
            var becameDown = false
            for _ in 0..<10 where !becameDown {
                _ = try await client.pick()
                try await client.execute(uri: "/v1/fleet", method: .get) { response in
                    let servers = json(response.body)["servers"] as? [[String: Any]] ?? []
                    becameDown = servers.last?["state"] as? String == "down"
                }
            }
            #expect(becameDown)
            var slowest = Duration.zero
            for _ in 0..<50 {
                let start = ContinuousClock.now
                let answer = try await client.pick()
                slowest = max(slowest, ContinuousClock.now - start)
                #expect(answer.status == .ok)
                #expect(answer.server != dead.url)
            }
            #expect(slowest < .milliseconds(100), "slowest pick \(slowest)")
        }
        for fake in healthy + [dead] { await fake.stop() }
    }

    @Test("--freshness-ms 0: every pick probes every up server", arguments: Transport.allCases)
    func freshnessZero(transport: Transport) async throws {
        let fakes = [try await FakeFleetServer(available: 500, workers: 500), try await FakeFleetServer(available: 400, workers: 500)]
        let app = try TestApplication { $0.freshness = .zero }
        try await app.setFleet(fakes.map(\.url))
        try await app.test(transport.setup) { client in
            let before = fakes.map(\.requestCount)
            for _ in 0..<20 {
                let answer = try await client.pick()
                #expect(answer.status == .ok)
            }
            let probes = zip(fakes.map(\.requestCount), before).map { $0 - $1 }
            #expect(probes == [20, 20], "\(probes)")
        }
        for fake in fakes { await fake.stop() }
    }

    @Test("with the default freshness, sequential picks reuse readings", arguments: Transport.allCases)
    func freshnessDefault(transport: Transport) async throws {
        let fake = try await FakeFleetServer(available: 500, workers: 500)
        let app = try TestApplication()
        try await app.setFleet([fake.url])
        try await app.test(transport.setup) { client in
            for _ in 0..<20 {
                let answer = try await client.pick()
                #expect(answer.status == .ok)
            }
            // 20 picks in well under a few freshness periods (250 ms) need only a few probes.
            #expect(fake.requestCount < 20, "\(fake.requestCount) probes for 20 picks")
        }
        await fake.stop()
    }
}
