import Foundation
import Hummingbird
import HummingbirdTesting
import Synchronization
import Testing
@testable import VoxBridgeDispatch

/// The running service's answers match `docs/openapi.yaml`: every documented status of every
/// operation is produced here, and each answer's status, content type, headers and body are
/// checked against the spec. (The 503 `settings_unavailable` of a write is produced by
/// `FaultTests`, which check it against the same spec.)
@Suite("OpenAPI conformance")
struct OpenAPIConformanceTests {
    static let admin = "admin-token-conformance"
    static let picker = "pick-token-conformance"
    static let member = "cluster-secret-conformance"

    /// The answers seen, as `METHOD PATH STATUS`, and every mismatch with the spec.
    final class Recorder: Sendable {
        let spec: OpenAPISpec
        let seen = Mutex<Set<String>>([])
        let problems = Mutex<[String]>([])
        init(spec: OpenAPISpec) { self.spec = spec }

        /// Sends one request and checks its answer against the spec.
        func call(
            _ client: any TestClientProtocol, _ method: HTTPRequest.Method, _ path: String,
            token: String? = nil, headers extra: HTTPFields = [:], body: String? = nil,
            expect status: HTTPResponse.Status
        ) async throws -> [String: Any] {
            var headers = extra
            if let token { headers[.authorization] = "Bearer \(token)" }
            if body != nil { headers[.contentType] = "application/json" }
            return try await client.execute(uri: path, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) }) { response in
                #expect(response.status == status, "\(method) \(path): \(String(buffer: response.body))")
                var fields: [String: String] = [:]
                for field in response.headers { fields[field.name.rawName] = field.value }
                let found = self.spec.problems(method: method.rawValue, path: path, status: response.status.code, headers: fields, body: Data(buffer: response.body))
                self.seen.withLock { _ = $0.insert(OpenAPISpec.key(method: method.rawValue, path: path, status: response.status.code)) }
                self.problems.withLock { $0 += found }
                return json(response.body)
            }
        }
    }

    @Test("the spec names every route of docs/API.md with its statuses")
    func specCoversContract() throws {
        let documented = try OpenAPISpec.load().documentedResponses
        let required = [
            "GET /health 200", "GET /metrics 200",
            "GET /v1/settings/voxcore_fleet 200", "GET /v1/settings/voxcore_fleet 401",
            "PUT /v1/settings/voxcore_fleet 200", "PUT /v1/settings/voxcore_fleet 400", "PUT /v1/settings/voxcore_fleet 401",
            "PUT /v1/settings/voxcore_fleet 412", "PUT /v1/settings/voxcore_fleet 413", "PUT /v1/settings/voxcore_fleet 503",
            "POST /v1/pick 200", "POST /v1/pick 401", "POST /v1/pick 503",
            "POST /v1/release 200", "POST /v1/release 404",
            "GET /v1/fleet 200", "GET /v1/fleet 401",
            "PUT /v1/fleet/admin 200", "PUT /v1/fleet/admin 400", "PUT /v1/fleet/admin 401", "PUT /v1/fleet/admin 404",
            "PUT /v1/fleet/admin 503", "GET /v1/fleet/admin 200", "GET /v1/fleet/admin 401",
        ]
        for key in required { #expect(documented.contains(key), "\(key) is not documented") }
    }

    @Test("the checker itself finds answers that do not match the spec")
    func checkerFindsMismatches() throws {
        let spec = try OpenAPISpec.load()
        let json = ["Content-Type": "application/json"]
        #expect(!spec.problems(method: "POST", path: "/v1/pick", status: 200, headers: json, body: Data("{}".utf8)).isEmpty,
                "a pick answer without its members")
        #expect(!spec.problems(method: "POST", path: "/v1/pick", status: 200, headers: json,
                               body: Data(#"{"server":7,"available":"x","workers":1,"reservation_id":"a","elapsed_ms":1}"#.utf8)).isEmpty,
                "members of the wrong types")
        #expect(!spec.problems(method: "POST", path: "/v1/pick", status: 418, headers: json, body: Data("{}".utf8)).isEmpty)
        #expect(!spec.problems(method: "GET", path: "/v1/nothing", status: 200, headers: json, body: Data("{}".utf8)).isEmpty)
    }

    @Test("every documented answer of the running service matches the spec")
    func answersMatchSpec() async throws {
        let recorder = Recorder(spec: try OpenAPISpec.load())
        let healthy = try await FakeFleetServer(available: 11)
        // No event stream may open here (the router client would read an endless one for ever): the
        // 503 is produced; FleetEventStreamTests check the 200 over a socket.
        let app = try TestApplication(adminToken: Self.admin, pickToken: Self.picker) {
            // The closed port answers at once; the healthy fake must not time out on a busy machine.
            $0.probeTimeout = .seconds(2)
            $0.events.maximumStreams = 0
            $0.clusterSecret = Self.member
        }
        let tooLarge = #"{"voxcore_fleet": [""# + String(repeating: "a", count: DispatchConfiguration.maximumRequestBodyBytes) + #""]}"#
        let settings = "/v1/settings/voxcore_fleet"

        try await app.test(.router) { client in
            let admin = Self.admin, picker = Self.picker
            _ = try await recorder.call(client, .get, "/health", expect: .ok)
            _ = try await recorder.call(client, .get, "/metrics", expect: .ok)

            // Settings.
            _ = try await recorder.call(client, .get, settings, expect: .unauthorized)
            _ = try await recorder.call(client, .get, settings, token: picker, expect: .ok)
            _ = try await recorder.call(client, .put, settings, token: picker, body: #"{"voxcore_fleet": []}"#, expect: .unauthorized)
            _ = try await recorder.call(client, .put, settings, token: admin, body: tooLarge, expect: .contentTooLarge)
            _ = try await recorder.call(client, .put, settings, token: admin, body: "{not json", expect: .badRequest)
            let invalid = try await recorder.call(client, .put, settings, token: admin,
                                                  body: #"{"voxcore_fleet": ["ftp://a", 7, "https://u:p@b.example.com"]}"#, expect: .badRequest)
            #expect((invalid["details"] as? [Any])?.count == 3)
            _ = try await recorder.call(client, .put, settings, token: admin, headers: [.ifMatch: "\"9\""],
                                        body: #"{"voxcore_fleet": []}"#, expect: .preconditionFailed)
            _ = try await recorder.call(client, .put, settings, token: admin, headers: [.ifMatch: "yesterday"],
                                        body: #"{"voxcore_fleet": []}"#, expect: .preconditionFailed)
            _ = try await recorder.call(client, .put, settings, token: admin, headers: [.ifMatch: ""],
                                        body: #"{"voxcore_fleet": []}"#, expect: .preconditionFailed)

            // Picking from an empty list.
            _ = try await recorder.call(client, .post, "/v1/pick", expect: .unauthorized)
            let empty = try await recorder.call(client, .post, "/v1/pick", token: picker, expect: .serviceUnavailable)
            #expect(empty["error"] as? String == "fleet_empty")

            // A healthy server and one that refuses connections.
            let fleet = #"{"voxcore_fleet": ["\#(healthy.url)", "http://127.0.0.1:1"]}"#
            _ = try await recorder.call(client, .put, settings, token: admin, headers: [.ifMatch: "\"0\""], body: fleet, expect: .ok)
            let pick = try await recorder.call(client, .post, "/v1/pick", token: picker, expect: .ok)
            _ = try await recorder.call(client, .post, "/v1/pick", token: admin, body: "", expect: .ok)
            _ = try await recorder.call(client, .post, "/v1/pick", token: picker, body: #"{"exclude": [5]}"#, expect: .badRequest)
            _ = try await recorder.call(client, .post, "/v1/pick", token: picker, body: "[", expect: .badRequest)
            _ = try await recorder.call(client, .post, "/v1/pick", token: picker, body: tooLarge, expect: .contentTooLarge)
            let noCapacity = try await recorder.call(client, .post, "/v1/pick", token: picker,
                                                     body: #"{"exclude": ["\#(healthy.url)/"]}"#, expect: .serviceUnavailable)
            #expect(noCapacity["error"] as? String == "no_capacity")
            #expect((noCapacity["servers"] as? [Any])?.count == 2)

            // Release.
            let id = try #require(pick["reservation_id"] as? String)
            _ = try await recorder.call(client, .post, "/v1/release", body: #"{"reservation_id": "\#(id)"}"#, expect: .unauthorized)
            _ = try await recorder.call(client, .post, "/v1/release", token: picker, body: #"{"reservation_id": "\#(id)"}"#, expect: .ok)
            _ = try await recorder.call(client, .post, "/v1/release", token: picker, body: #"{"reservation_id": "\#(id)"}"#, expect: .notFound)
            _ = try await recorder.call(client, .post, "/v1/release", token: picker, body: #"{"id": 1}"#, expect: .badRequest)
            _ = try await recorder.call(client, .post, "/v1/release", token: picker, body: tooLarge, expect: .contentTooLarge)

            // Watching: one server up with figures, one failing with nulls.
            _ = try await recorder.call(client, .get, "/v1/fleet", expect: .unauthorized)
            let status = try await recorder.call(client, .get, "/v1/fleet", token: picker, expect: .ok)
            #expect((status["servers"] as? [Any])?.count == 2)
            _ = try await recorder.call(client, .get, settings, token: admin, expect: .ok)

            // Operator states.
            let admin_ = "/v1/fleet/admin"
            _ = try await recorder.call(client, .put, admin_, token: picker, body: #"{"url": "\#(healthy.url)", "state": "draining"}"#, expect: .unauthorized)
            _ = try await recorder.call(client, .put, admin_, token: admin, body: "{not json", expect: .badRequest)
            _ = try await recorder.call(client, .put, admin_, token: admin, body: #"{"url": "\#(healthy.url)", "state": "paused"}"#, expect: .badRequest)
            _ = try await recorder.call(client, .put, admin_, token: admin, body: tooLarge, expect: .contentTooLarge)
            _ = try await recorder.call(client, .put, admin_, token: admin, body: #"{"url": "https://not-listed.example.com", "state": "draining"}"#, expect: .notFound)
            let drained = try await recorder.call(client, .put, admin_, token: admin,
                                                  body: #"{"url": "\#(healthy.url)", "state": "draining", "reason": "upgrade"}"#, expect: .ok)
            #expect(drained["state"] as? String == "draining" && drained["by"] as? String == "admin")
            _ = try await recorder.call(client, .get, admin_, expect: .unauthorized)
            let states = try await recorder.call(client, .get, admin_, token: picker, expect: .ok)
            #expect((states["servers"] as? [[String: Any]])?.first?["state"] as? String == "draining")
            _ = try await recorder.call(client, .put, admin_, token: admin, body: #"{"url": "\#(healthy.url)", "state": "active"}"#, expect: .ok)

            // The operator's page, the event stream's refusals and the verify endpoint.
            for path in ["/", "/ui/operator.js", "/ui/operator.css", "/ui/icon.svg", "/favicon.ico"] { _ = try await recorder.call(client, .get, path, expect: .ok) }
            _ = try await recorder.call(client, .get, "/v1/fleet/events", expect: .unauthorized)
            _ = try await recorder.call(client, .get, "/v1/fleet/events", token: picker, expect: .serviceUnavailable)
            let verify = "/v1/settings/voxcore_fleet/verify"
            _ = try await recorder.call(client, .post, verify, token: picker, body: #"{"url": "\#(healthy.url)"}"#, expect: .unauthorized)
            _ = try await recorder.call(client, .post, verify, token: admin, body: #"{"url": "ftp://a"}"#, expect: .badRequest)
            _ = try await recorder.call(client, .post, verify, token: admin, body: tooLarge, expect: .contentTooLarge)
            _ = try await recorder.call(client, .post, verify, token: admin, body: #"{"url": "\#(healthy.url)"}"#, expect: .ok)
            _ = try await recorder.call(client, .post, verify, token: admin, body: #"{"url": "http://127.0.0.1:1"}"#, expect: .ok)

            // The cluster's routes on an instance that is not in one.
            _ = try await recorder.call(client, .get, "/v1/cluster", expect: .unauthorized)
            let single = try await recorder.call(client, .get, "/v1/cluster", token: picker, expect: .ok)
            #expect(single["role"] as? String == "single")
            let reservations = "/v1/cluster/reservations"
            let member = Self.member
            _ = try await recorder.call(client, .post, reservations, body: #"{"made": []}"#, expect: .unauthorized)
            _ = try await recorder.call(client, .post, reservations, token: picker, body: #"{"from": "http://127.0.0.1:1", "made": []}"#, expect: .forbidden)
            _ = try await recorder.call(client, .post, reservations, token: admin, body: #"{"from": "http://127.0.0.1:1", "made": []}"#, expect: .forbidden)
            _ = try await recorder.call(client, .post, reservations, token: member, body: #"{"from": "x", "made": [{"id": 7}]}"#, expect: .badRequest)
            _ = try await recorder.call(client, .post, reservations, token: member, body: tooLarge, expect: .contentTooLarge)
            _ = try await recorder.call(client, .post, reservations, token: member, body: #"{"from": "x", "made": [], "released": []}"#, expect: .conflict)
        }
        await healthy.stop()

        let problems = recorder.problems.withLock { $0 }
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
        // Every documented answer was produced, except the storage failures FaultTests produce
        // and the request timeouts SlowClientTests produce (both check them against the spec),
        // and the endless event stream FleetEventStreamTests reads, and the answers only a cluster
        // gives (ClusterLeaseTests produce them and check them against the spec).
        let missing = recorder.spec.documentedResponses
            .subtracting(recorder.seen.withLock { $0 })
            .subtracting(["GET /v1/settings/voxcore_fleet 503", "PUT /v1/settings/voxcore_fleet 503", "GET /v1/fleet/events 200"])
            .subtracting(["GET /v1/fleet/admin 503", "PUT /v1/fleet/admin 503", "PUT /v1/fleet/admin 408"])
            .subtracting(["PUT /v1/settings/voxcore_fleet 408", "POST /v1/pick 408", "POST /v1/release 408", "POST /v1/cluster/reservations 408"])
            .subtracting(["POST /v1/cluster/reservations 200", "POST /v1/release 503"])
        #expect(missing.isEmpty, "documented but not produced: \(missing.sorted())")
    }
}
