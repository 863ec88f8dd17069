import DispatchTestSupport
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A real `voxbridge-dispatch serve` on 127.0.0.1 port 0 with a temporary SQLite database and
/// both tokens set, in front of a `voxcore-sim` fleet of `servers` simulated servers (none when 0).
/// ``with(servers:_:)`` stops both by PID whatever the test does.
struct LiveDispatcher: Sendable {
    static let adminToken = "admin-secret"
    static let pickToken = "pick-secret"

    /// `http://127.0.0.1:PORT` of the dispatcher.
    let baseURL: String
    /// The simulated fleet servers' base URLs, in the sim's order.
    let servers: [String]

    /// Starts the sim (when `servers` > 0) and the dispatcher, registers the fleet, runs `body`,
    /// and stops both children.
    static func with<T>(servers count: Int = 3, _ body: (LiveDispatcher) async throws -> T) async throws -> T {
        let folder = TemporaryFolder()
        defer { withExtendedLifetime(folder) {} }  // the children write their logs there until stopped
        var sim: ChildProcess?
        var dispatcher: ChildProcess?
        do {
            var servers: [String] = []
            if count > 0 {
                let started = try await ChildProcess.start(
                    ChildProcess.built("voxcore-sim"), ["--servers", String(count), "--workers", "16"],
                    log: folder.file("sim.log"), marker: "voxcore-sim ready")
                sim = started
                servers = started.output.split(separator: "\n").filter { $0.hasPrefix("server ") }
                    .compactMap { $0.split(separator: " ").last.map(String.init) }
            }
            let serve = try await ChildProcess.start(
                ChildProcess.built("voxbridge-dispatch"),
                // Reservations settle after 5 s instead of 1 s: a test that picks and then releases
                // must find its reservation alive when 2 busy cores delay the release (one such
                // release came 1 s late and was refused `unknown_reservation`).
                ["serve", "--host", "127.0.0.1", "--port", "0", "--db", folder.file("dispatch.sqlite"),
                 "--reservation-settle-ms", "5000"],
                environment: ["VOXBRIDGE_ADMIN_TOKEN": adminToken, "VOXBRIDGE_PICK_TOKEN": pickToken],
                log: folder.file("serve.log"), marker: "listening on http://")
            dispatcher = serve
            guard let line = serve.line(containing: "listening on http://"), let range = line.range(of: "http://") else {
                throw HarnessError("no listening line:\n\(serve.output)")
            }
            let live = LiveDispatcher(baseURL: String(line[range.lowerBound...].prefix { !$0.isWhitespace }), servers: servers)
            if !servers.isEmpty {
                let list = servers.map { "\"\($0)\"" }.joined(separator: ",")
                let put = try await live.request("PUT", "/v1/settings/voxcore_fleet", body: #"{"voxcore_fleet":[\#(list)]}"#, token: adminToken)
                guard put.status == 200 else { throw HarnessError("PUT fleet answered \(put.status)") }
                try await live.waitUntilUp(count: servers.count)
            }
            let result = try await body(live)
            await stop([serve, sim])
            return result
        } catch {
            await stop([dispatcher, sim])
            throw error
        }
    }

    /// Stops each child in turn (SIGTERM, SIGKILL after 5 s) on a thread of its own.
    private static func stop(_ children: [ChildProcess?]) async {
        for child in children.compactMap({ $0 }) {
            await offThread { child.stop(grace: .seconds(5)) }
        }
    }

    /// One bounded request to the dispatcher; the status and the body.
    func request(_ method: String, _ path: String, body: String? = nil, token: String? = pickToken) async throws -> (status: Int, body: Data) {
        var request = URLRequest(url: URL(string: baseURL + path)!, timeoutInterval: 10)
        request.httpMethod = method
        if let body { request.httpBody = Data(body.utf8) }
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
    }

    /// Waits (at most 10 s) until `/v1/fleet` shows `count` servers up: the dispatcher probes a
    /// server as soon as it is listed, but a test's first pick must not depend on how soon a busy
    /// machine runs that probe.
    func waitUntilUp(count: Int) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            let fleet = try JSONSerialization.jsonObject(with: try await request("GET", "/v1/fleet").body) as? [String: Any]
            let up = (fleet?["servers"] as? [[String: Any]])?.filter { $0["state"] as? String == "up" }.count ?? 0
            if up == count { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw HarnessError("the fleet was not up within 10 s")
    }

    /// `voxbridge_releases_total{reason}` from `/metrics` (0 when not yet counted).
    func releases(_ reason: String) async throws -> Int {
        let text = String(decoding: try await request("GET", "/metrics").body, as: UTF8.self)
        let prefix = #"voxbridge_releases_total{reason="\#(reason)"} "#
        return text.split(separator: "\n").first { $0.hasPrefix(prefix) }
            .flatMap { Double($0.dropFirst(prefix.count)) }.map { Int($0) } ?? 0
    }
}
