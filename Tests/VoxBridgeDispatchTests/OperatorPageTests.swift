import DispatchHTTPServer
import FleetPicker
import Foundation
import Hummingbird
import HummingbirdTesting
import ServiceMetrics
import Testing
@testable import VoxBridgeDispatch

@Suite("The operator's page and the verify endpoint")
struct OperatorPageTests {
    static let admin = "admin-token-page"
    static let picker = "pick-token-page"

    @Test("GET / and its script and style are served from the binary with no token and a strict CSP")
    func pageServed() async throws {
        let app = try TestApplication(adminToken: Self.admin, pickToken: Self.picker)
        try await app.test(.router) { client in
            for (path, type) in [("/", "text/html"), ("/ui/operator.js", "text/javascript"), ("/ui/operator.css", "text/css")] {
                try await client.execute(uri: path, method: .get) { response in
                    #expect(response.status == .ok)
                    #expect(response.headers[.contentType]?.hasPrefix(type) == true)
                    let csp = try #require(response.headers[.contentSecurityPolicy])
                    #expect(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"))
                    #expect(response.body.readableBytes > 500)
                    // Nothing from elsewhere: no absolute URL is loaded.
                    let text = String(buffer: response.body)
                    #expect(!text.contains("src=\"http") && !text.contains("href=\"http"))
                }
            }
            let html = try await client.execute(uri: "/", method: .get) { String(buffer: $0.body) }
            #expect(html.contains("/ui/operator.js") && html.contains("/ui/operator.css"))
            #expect(!html.contains("<script>") && !html.contains("style="), "no inline script or style under the CSP")
            let script = try await client.execute(uri: "/ui/operator.js", method: .get) { String(buffer: $0.body) }
            #expect(script.contains("sessionStorage") && !script.contains("localStorage") && !script.contains("document.cookie"))
            #expect(!script.contains("innerHTML"), "service data is never parsed as markup")
        }
    }

    @Test("verify: admin token, http(s) only with the list's reasons, then the probe's findings; nothing changes")
    func verify() async throws {
        let healthy = try await FakeFleetServer(available: 12, workers: 16)
        let draining = try await FakeFleetServer(available: 16, status: "draining")
        // A generous probe timeout: the answers here are quick (a fake server, a closed port), and
        // a busy 2-core machine running the other suites once took longer than 300 ms.
        let app = try TestApplication(adminToken: Self.admin, pickToken: Self.picker) { $0.probeTimeout = .seconds(3) }
        let path = "/v1/settings/voxcore_fleet/verify"
        try await app.test(.router) { client in
            func verify(_ body: String, token: String? = Self.admin) async throws -> (HTTPResponse.Status, [String: Any]) {
                try await client.execute(uri: path, method: .post, headers: token.map { .bearer($0) } ?? [:],
                                         body: ByteBuffer(string: body)) { ($0.status, json($0.body)) }
            }
            #expect(try await verify(#"{"url": "\#(healthy.url)"}"#, token: nil).0 == .unauthorized)
            #expect(try await verify(#"{"url": "\#(healthy.url)"}"#, token: Self.picker).0 == .unauthorized)
            #expect(try await verify("{nope").1["error"] as? String == "invalid_json")
            #expect(try await verify(#"{"url": 7}"#).1["error"] as? String == "invalid_request")

            let (status, refused) = try await verify(#"{"url": "ftp://fleet-3.example.com"}"#)
            #expect(status == .badRequest)
            #expect(refused["error"] as? String == "invalid_fleet")
            let detail = try #require((refused["details"] as? [[String: Any]])?.first)
            #expect(detail["reason"] as? String == "not an absolute http or https URL")
            #expect(detail["value"] as? String == "ftp://fleet-3.example.com")

            let (okStatus, ok) = try await verify(#"{"url": "\#(healthy.url)/"}"#)
            #expect(okStatus == .ok)
            #expect(ok["url"] as? String == healthy.url, "normalised like a list entry")
            #expect(ok["healthy"] as? Bool == true && ok["accepting_calls"] as? Bool == true)
            #expect(ok["available"] as? Int == 12 && ok["workers"] as? Int == 16)
            #expect(ok["message"] as? String == "healthy, 12 of 16 workers free")

            let drainingAnswer = try await verify(#"{"url": "\#(draining.url)"}"#).1
            #expect(drainingAnswer["healthy"] as? Bool == true && drainingAnswer["accepting_calls"] as? Bool == false)
            #expect(drainingAnswer["status"] as? String == "draining")

            let closed = try await verify(#"{"url": "http://127.0.0.1:1"}"#).1
            #expect(closed["healthy"] as? Bool == false)
            #expect((closed["error"] as? String)?.isEmpty == false)
            #expect(closed["workers"] is NSNull)

            // Verifying changed nothing.
            let setting = try await client.execute(uri: "/v1/settings/voxcore_fleet", method: .get, headers: .bearer(Self.admin)) { json($0.body) }
            #expect(setting["version"] as? Int == 0)
        }
        await healthy.stop()
        await draining.stop()
    }

    @Test("totals: up servers' workers, free less reservations, counts and rates")
    func totals() {
        let now = ContinuousClock.now
        let servers: [ServerSnapshotOfClock] = [
            .init(url: "http://a", state: .up, available: 10, workers: 16, activeCalls: 6, reserved: 3, lastProbeStart: now,
                  lastLatency: .milliseconds(2), lastError: nil, consecutiveFailures: 0),
            .init(url: "http://b", state: .up, available: 1, workers: 8, activeCalls: 7, reserved: 2, lastProbeStart: now,
                  lastLatency: .milliseconds(2), lastError: nil, consecutiveFailures: 0),
            .init(url: "http://c", state: .down, available: 16, workers: 16, activeCalls: 0, reserved: 0, lastProbeStart: now,
                  lastLatency: .milliseconds(2), lastError: "connect", consecutiveFailures: 3),
        ]
        let counts = DispatchCounts(picked: 50, noCapacity: 2, fleetEmpty: 1, probes: 40)
        let totals = FleetTotals(servers: servers, counts: counts, rates: .init(picked: 5, noCapacity: 0.25, probes: 4.123),
                                 generatedAt: "2026-11-30T10:00:00.000Z")
        #expect(totals.servers == 3 && totals.serversUp == 2)
        #expect(totals.workers == 24)
        #expect(totals.freeWorkers == 7, "10 - 3 on a, and b's 1 - 2 counts as 0")
        #expect(totals.reserved == 5)
        guard case .object(let members) = totals.json else { Issue.record("not an object"); return }
        #expect(members["probes_per_second"] == .double(4.12))
        #expect(members["no_capacity_total"] == .int(2))
    }

    @Test("rates: counter growth over the window; zero from a single sample")
    func rates() {
        var window = RateWindow(span: .seconds(5))
        let start = ContinuousClock.now
        #expect(window.add(DispatchCounts(), at: start) == RateWindow.Rates())
        _ = window.add(DispatchCounts(picked: 10, probes: 4), at: start + .seconds(1))
        let rates = window.add(DispatchCounts(picked: 20, noCapacity: 2, probes: 8), at: start + .seconds(2))
        #expect(rates == RateWindow.Rates(picked: 10, noCapacity: 1, probes: 4))
        // Old samples leave the window: from t=5 on, the rate is over the last 5 s only.
        for second in 3...10 {
            _ = window.add(DispatchCounts(picked: 20 + (second - 2) * 100), at: start + .seconds(second))
        }
        let later = window.add(DispatchCounts(picked: 20 + 9 * 100), at: start + .seconds(11))
        #expect(later.picked == 100)
    }
}

typealias ServerSnapshotOfClock = ServerSnapshot<ContinuousClock.Instant>
