import DispatchTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import SettingsStore
import Testing
@testable import VoxBridgeDispatch

@Suite("HTTP: /health and /v1/settings/voxcore_fleet")
struct SettingsRoutesTests {
    static let settingsPath = "/v1/settings/voxcore_fleet"

    @Test("PostgreSQL cases", .enabled(if: PostgresTestServer.isConfigured, Comment(rawValue: PostgresTestServer.skipNote)))
    func postgresCasesSkipped() {}

    @Test("GET /health answers ok", arguments: TestStoreKind.testable)
    func health(kind: TestStoreKind) async throws {
        try await TestApplication(kind).test { client in
            try await client.execute(uri: "/health", method: .get) { response in
                #expect(response.status == .ok)
                #expect(json(response.body)["status"] as? String == "ok")
            }
        }
    }

    @Test("GET on a new database: empty list, version 0, ETag \"0\"", arguments: TestStoreKind.testable)
    func getNew(kind: TestStoreKind) async throws {
        try await TestApplication(kind).test { client in
            try await client.execute(uri: Self.settingsPath, method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.eTag] == "\"0\"")
                let answer = json(response.body)
                #expect(answer["voxcore_fleet"] as? [String] == [])
                #expect(answer["version"] as? Int == 0)
                #expect((answer["updated_at"] as? String)?.hasSuffix("Z") == true)
            }
        }
    }

    @Test("PUT normalises, raises the version and is what GET then shows", arguments: TestStoreKind.testable)
    func putThenGet(kind: TestStoreKind) async throws {
        let app = try await TestApplication(kind, adminToken: "admin-secret")
        try await app.test { client in
            let body = ByteBuffer(string: #"{"voxcore_fleet": ["HTTPS://Fleet-1.Example.com:443/", "http://127.0.0.1:9001/voxcore/"]}"#)
            try await client.execute(uri: Self.settingsPath, method: .put, headers: .bearer("admin-secret"), body: body) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.eTag] == "\"1\"")
                let answer = json(response.body)
                #expect(answer["voxcore_fleet"] as? [String] == ["https://fleet-1.example.com", "http://127.0.0.1:9001/voxcore"])
                #expect(answer["version"] as? Int == 1)
            }
            try await client.execute(uri: Self.settingsPath, method: .get) { response in
                #expect(json(response.body)["voxcore_fleet"] as? [String] == ["https://fleet-1.example.com", "http://127.0.0.1:9001/voxcore"])
                #expect(response.headers[.eTag] == "\"1\"")
            }
        }
        #expect(try await app.store.history().first?.actor == .api)
    }

    @Test("an invalid list answers invalid_fleet with one detail per bad entry", arguments: TestStoreKind.testable)
    func invalidFleetDetails(kind: TestStoreKind) async throws {
        try await TestApplication(kind).test { client in
            let body = ByteBuffer(string: #"{"voxcore_fleet": ["https://ok.example.com", "ftp://x", 7, "https://u:p@h.example.com", "https://OK.example.com/"]}"#)
            try await client.execute(uri: Self.settingsPath, method: .put, body: body) { response in
                #expect(response.status == .badRequest)
                let answer = json(response.body)
                #expect(answer["error"] as? String == "invalid_fleet")
                #expect(answer["message"] is String)
                let details = try #require(answer["details"] as? [[String: Any]])
                #expect(details.compactMap { $0["index"] as? Int } == [1, 2, 3, 4])
                #expect(details.compactMap { $0["value"] as? String } == ["ftp://x", "7", "https://u:p@h.example.com", "https://OK.example.com/"])
                #expect(details.allSatisfy { ($0["reason"] as? String)?.isEmpty == false })
            }
        }
    }

    @Test("If-Match: the current version writes, another answers 412", arguments: TestStoreKind.testable)
    func ifMatch(kind: TestStoreKind) async throws {
        try await TestApplication(kind).test { client in
            let body = ByteBuffer(string: #"{"voxcore_fleet": ["https://a.example.com"]}"#)
            try await client.execute(uri: Self.settingsPath, method: .put, headers: [.ifMatch: "\"0\""], body: body) { response in
                #expect(response.status == .ok)
            }
            try await client.execute(uri: Self.settingsPath, method: .put, headers: [.ifMatch: "\"0\""], body: body) { response in
                #expect(response.status == .preconditionFailed)
                #expect(json(response.body)["error"] as? String == "version_conflict")
            }
            try await client.execute(uri: Self.settingsPath, method: .put, headers: [.ifMatch: "W/\"1\""], body: body) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.eTag] == "\"2\"")
            }
        }
    }

    @Test("tokens: the admin token guards writes; the pick token, when set, guards reads", arguments: TestStoreKind.testable)
    func tokens(kind: TestStoreKind) async throws {
        try await TestApplication(kind, adminToken: "admin-secret", pickToken: "pick-secret").test { client in
            let body = ByteBuffer(string: #"{"voxcore_fleet": []}"#)
            for headers: HTTPFields in [[:], .bearer("wrong"), .bearer("pick-secret"), [.authorization: "Basic admin-secret"]] {
                try await client.execute(uri: Self.settingsPath, method: .put, headers: headers, body: body) { response in
                    #expect(response.status == .unauthorized)
                    #expect(json(response.body)["error"] as? String == "unauthorized")
                }
            }
            try await client.execute(uri: Self.settingsPath, method: .put, headers: .bearer("admin-secret"), body: body) { response in
                #expect(response.status == .ok)
            }
            try await client.execute(uri: Self.settingsPath, method: .get) { response in
                #expect(response.status == .unauthorized)
            }
            for token in ["pick-secret", "admin-secret"] {
                try await client.execute(uri: Self.settingsPath, method: .get, headers: .bearer(token)) { response in
                    #expect(response.status == .ok)
                }
            }
            try await client.execute(uri: "/health", method: .get) { response in
                #expect(response.status == .ok, "health stays open for supervisors")
            }
        }
    }

    @Test("where several apply, the first of 401, 413, 400, 412 answers", arguments: TestStoreKind.testable)
    func errorPrecedence(kind: TestStoreKind) async throws {
        let app = try await TestApplication(kind, adminToken: "admin-secret")
        let tooLarge = ByteBuffer(repeating: UInt8(ascii: "x"), count: (1 << 20) + 1)
        let invalid = ByteBuffer(string: #"{"voxcore_fleet": ["ftp://x"]}"#)
        let stale: HTTPFields = [.ifMatch: "\"7\""]
        @Sendable func headers(_ extra: HTTPFields, token: Bool) -> HTTPFields {
            var fields = extra
            if token { fields[.authorization] = "Bearer admin-secret" }
            return fields
        }
        try await app.test { client in
            // All four apply: 401.
            try await client.execute(uri: Self.settingsPath, method: .put, headers: headers(stale, token: false), body: tooLarge) { response in
                #expect(response.status == .unauthorized)
            }
            // 413, 400 and 412 apply: 413.
            try await client.execute(uri: Self.settingsPath, method: .put, headers: headers(stale, token: true), body: tooLarge) { response in
                #expect(response.status == .contentTooLarge)
                #expect(json(response.body)["error"] as? String == "payload_too_large")
            }
            // 400 and 412 apply: 400.
            try await client.execute(uri: Self.settingsPath, method: .put, headers: headers(stale, token: true), body: invalid) { response in
                #expect(response.status == .badRequest)
            }
            try await client.execute(uri: Self.settingsPath, method: .put, headers: headers(stale, token: true), body: ByteBuffer(string: "{")) { response in
                #expect(response.status == .badRequest)
                #expect(json(response.body)["error"] as? String == "invalid_json")
            }
            // Only 412.
            try await client.execute(uri: Self.settingsPath, method: .put, headers: headers(stale, token: true), body: ByteBuffer(string: #"{"voxcore_fleet": []}"#)) { response in
                #expect(response.status == .preconditionFailed)
            }
        }
        #expect(try await app.store.fleet().version == 0, "no refused write changed anything")
    }

    @Test("an unknown path answers a JSON 404", arguments: TestStoreKind.testable)
    func notFound(kind: TestStoreKind) async throws {
        try await TestApplication(kind).test { client in
            try await client.execute(uri: "/v1/nothing", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(json(response.body)["error"] as? String == "not_found")
            }
        }
    }

    @Test("a known path asked with another method answers a JSON 405 with Allow", arguments: TestStoreKind.testable, Transport.allCases)
    func methodNotAllowed(kind: TestStoreKind, transport: Transport) async throws {
        let cases: [(String, HTTPRequest.Method, String)] = [
            ("/v1/pick", .get, "POST"), ("/v1/pick", .delete, "POST"), ("/v1/release", .put, "POST"),
            ("/v1/fleet", .post, "GET, HEAD"), ("/v1/settings/voxcore_fleet", .delete, "GET, HEAD, PUT"),
            ("/v1/settings/voxcore_fleet", .post, "GET, HEAD, PUT"), ("/health", .patch, "GET, HEAD"), ("/metrics", .options, "GET, HEAD"),
            // Paths as the router matches them: empty segments do not count.
            ("/v1/pick/", .get, "POST"), ("//health", .delete, "GET, HEAD"),
        ]
        let app = try await TestApplication(kind)
        try await app.test(transport.setup) { client in
            for (path, method, allow) in cases {
                try await client.execute(uri: path, method: method) { response in
                    #expect(response.status == .methodNotAllowed, "\(method) \(path)")
                    #expect(response.headers[.allow] == allow, "\(method) \(path)")
                    #expect(json(response.body)["error"] as? String == "method_not_allowed", "\(method) \(path)")
                }
            }
            // The methods a path serves still work, and an unknown path is still 404.
            try await client.execute(uri: "/v1/settings/voxcore_fleet", method: .get) { response in
                #expect(response.status == .ok)
            }
            try await client.execute(uri: "/v1/unknown", method: .delete) { response in
                #expect(response.status == .notFound)
            }
            for path in ["/health", "/health/", "/v1/fleet"] {
                try await client.execute(uri: path, method: .head) { response in
                    #expect(response.status == .ok, "HEAD \(path)")
                }
            }
        }
        #expect(try await app.store.fleet().version == 0, "no refused method changed anything")
    }

    @Test("HEAD of a GET path answers as the GET, without a body on the wire", arguments: TestStoreKind.testable)
    func headAnsweredAsGet(kind: TestStoreKind) async throws {
        let app = try await TestApplication(kind)
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let connection = try RawHTTPConnection(port: port)
            // HEAD then GET on one connection: the GET's answer follows the HEAD's head at once,
            // which it would not if a body had been sent after the HEAD's head.
            try connection.send("HEAD /health HTTP/1.1\r\nHost: x\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            var text = ""
            let deadline = ContinuousClock.now + .seconds(5)
            while !text.contains(#"{"status":"ok"}"#), ContinuousClock.now < deadline {
                guard let chunk = connection.receive() else { break }
                text += chunk
            }
            let answers = text.components(separatedBy: "HTTP/1.1 ").filter { !$0.isEmpty }
            #expect(answers.count == 2, "\(text)")
            #expect(answers.first?.hasPrefix("200") == true)
            #expect(answers.first?.lowercased().contains("content-length: 15") == true)
            #expect(answers.first?.hasSuffix("\r\n\r\n") == true, "no body after the HEAD's head")
            #expect(answers.last?.hasSuffix(#"{"status":"ok"}"#) == true)
        }
    }
}
