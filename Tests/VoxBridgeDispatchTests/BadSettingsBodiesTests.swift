import DispatchTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import SettingsStore
import Testing
@testable import VoxBridgeDispatch

@Suite("HTTP: bad PUT bodies are refused and change nothing")
struct BadSettingsBodiesTests {
    /// Bodies that must each be refused with a 4xx JSON error.
    static let badBodies: [(String, [UInt8])] = {
        var bodies: [(String, String)] = [
            ("empty body", ""),
            ("whitespace", "   \n"),
            ("null", "null"),
            ("true", "true"),
            ("number", "42"),
            ("negative number", "-1"),
            ("float", "3.14"),
            ("string", #""https://a.example.com""#),
            ("bare array", #"["https://a.example.com"]"#),
            ("empty object", "{}"),
            ("wrong key", #"{"fleet": ["https://a.example.com"]}"#),
            ("key case", #"{"VOXCORE_FLEET": []}"#),
            ("list is null", #"{"voxcore_fleet": null}"#),
            ("list is a string", #"{"voxcore_fleet": "https://a.example.com"}"#),
            ("list is a number", #"{"voxcore_fleet": 1}"#),
            ("list is an object", #"{"voxcore_fleet": {"0": "https://a.example.com"}}"#),
            ("list is true", #"{"voxcore_fleet": true}"#),
            ("element number", #"{"voxcore_fleet": [1]}"#),
            ("element null", #"{"voxcore_fleet": [null]}"#),
            ("element bool", #"{"voxcore_fleet": [false]}"#),
            ("element array", #"{"voxcore_fleet": [["https://a.example.com"]]}"#),
            ("element object", #"{"voxcore_fleet": [{"url": "https://a.example.com"}]}"#),
            ("nested junk", #"{"voxcore_fleet": [[[[[{"a": [null, {}]}]]]]]}"#),
            ("empty string", #"{"voxcore_fleet": [""]}"#),
            ("relative URL", #"{"voxcore_fleet": ["/health/fleet"]}"#),
            ("no scheme", #"{"voxcore_fleet": ["fleet.example.com"]}"#),
            ("ftp", #"{"voxcore_fleet": ["ftp://fleet.example.com"]}"#),
            ("javascript", #"{"voxcore_fleet": ["javascript:alert(1)"]}"#),
            ("file", #"{"voxcore_fleet": ["file:///etc/passwd"]}"#),
            ("user info", #"{"voxcore_fleet": ["https://admin:pw@fleet.example.com"]}"#),
            ("query", #"{"voxcore_fleet": ["https://fleet.example.com/?x=1"]}"#),
            ("fragment", #"{"voxcore_fleet": ["https://fleet.example.com/#x"]}"#),
            ("space", #"{"voxcore_fleet": ["https://fleet example.com"]}"#),
            ("newline", #"{"voxcore_fleet": ["https://fleet.example.com\n"]}"#),
            ("NUL", #"{"voxcore_fleet": ["https://fleet.example.com\u0000"]}"#),
            ("bad port", #"{"voxcore_fleet": ["https://fleet.example.com:99999"]}"#),
            ("zero port", #"{"voxcore_fleet": ["https://fleet.example.com:0"]}"#),
            ("no host", #"{"voxcore_fleet": ["https://"]}"#),
            ("unicode host", #"{"voxcore_fleet": ["https://fléet.example.com"]}"#),
            ("duplicate", #"{"voxcore_fleet": ["https://a.example.com", "https://A.example.com:443/"]}"#),
            ("2049 characters", #"{"voxcore_fleet": ["https://a.example.com/"# + String(repeating: "p", count: 2049 - 22) + #""]}"#),
            ("one good one bad", #"{"voxcore_fleet": ["https://a.example.com", 5]}"#),
            ("truncated", #"{"voxcore_fleet": ["https://a.example.com""#),
            ("trailing comma", #"{"voxcore_fleet": ["https://a.example.com",]}"#),
            ("single quotes", #"{'voxcore_fleet': []}"#),
            ("comment", #"{"voxcore_fleet": [] /* x */}"#),
            ("two documents", #"{"voxcore_fleet": []} {"voxcore_fleet": []}"#),
            ("NaN", #"{"voxcore_fleet": [NaN]}"#),
            ("huge number", #"{"voxcore_fleet": [1e999999]}"#),
            ("form encoded", "voxcore_fleet=https://a.example.com"),
            ("XML", "<voxcore_fleet><url>https://a.example.com</url></voxcore_fleet>"),
            ("deep nesting", String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)),
            ("deep object nesting", String(repeating: #"{"a":"#, count: 20_000) + "1" + String(repeating: "}", count: 20_000)),
            ("257 entries", #"{"voxcore_fleet": ["# + (0..<257).map { #""http://10.1.\#($0 / 256).\#($0 % 256)""# }.joined(separator: ",") + "]}"),
            ("huge string", #"{"voxcore_fleet": [""# + String(repeating: "a", count: 900_000) + #""]}"#),
            ("over 1 MiB", #"{"voxcore_fleet": [""# + String(repeating: "a", count: 1 << 20) + #""]}"#),
        ]
        bodies.append(("lone surrogate escape", #"{"voxcore_fleet": ["https://a.example.com/\ud800"]}"#))
        var raw = bodies.map { ($0.0, Array($0.1.utf8)) }
        raw.append(("invalid UTF-8", Array(#"{"voxcore_fleet": [""#.utf8) + [0xC3, 0x28, 0xFF, 0xFE] + Array(#""]}"#.utf8)))
        raw.append(("UTF-8 overlong", Array(#"{"voxcore_fleet": ["https://a.example.com/"#.utf8) + [0xC0, 0xAF] + Array(#""]}"#.utf8)))
        raw.append(("binary junk", (0..<512).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 17) }))
        raw.append(("NUL bytes", [0, 0, 0, 0]))
        return raw
    }()

    @Test("at least 50 bad bodies each answer a 4xx JSON error; the stored list is unchanged", arguments: TestStoreKind.testable)
    func badBodies(kind: TestStoreKind) async throws {
        #expect(Self.badBodies.count >= 50)
        let app = try await TestApplication(kind)
        let good = try FleetList(validating: ["https://keep.example.com"])
        try await app.store.replaceFleet(with: good, actor: .cli)

        try await app.test { client in
            for (name, bytes) in Self.badBodies {
                try await client.execute(uri: "/v1/settings/voxcore_fleet", method: .put, body: ByteBuffer(bytes: bytes)) { response in
                    #expect((400..<500).contains(response.status.code), "\(name): \(response.status)")
                    let json: [String: Any]? = json(response.body)
                    #expect(json?["error"] is String, "\(name): no JSON error body")
                    #expect(json?["message"] is String, "\(name): no message")
                }
            }
            // The service still serves.
            try await client.execute(uri: "/health", method: .get) { response in
                #expect(response.status == .ok)
            }
        }
        #expect(try await app.store.fleet().list == good)
        #expect(try await app.store.fleet().version == 1)
        #expect(try await app.store.history().count == 1)
    }
}
