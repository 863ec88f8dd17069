import Foundation
import NIOCore

/// `make demo`: a sim of 3 servers and the dispatcher on free ports; registers the servers through
/// the API, shows a few picks (one placed, one released after a pretend 429, one excluding) and
/// `GET /v1/fleet`, then stops both by PID.
struct Demo {
    let binaries: Binaries
    let http: LoopbackHTTP

    func run() async throws {
        let (sim, _) = try await ChildProcess.start(
            name: "voxcore-sim", executable: binaries.sim,
            arguments: ["--servers", "3", "--workers", "16", "--busy", "0=5", "--busy", "1=9", "--busy", "2=2"],
            readyMarker: "voxcore-sim ready")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("voxbridge-demo-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        var dispatcher: ChildProcess?
        do {
            print(sim.allOutput.split(separator: "\n").map { "voxcore-sim: \($0)" }.joined(separator: "\n"))
            let servers = sim.simServerURLs
            let (child, base, line) = try await ChildProcess.startDispatcher(
                executable: binaries.dispatcher, database: folder.appendingPathComponent("demo.sqlite").path)
            dispatcher = child
            print("voxbridge-dispatch: \(line)")
            let list = servers.map { "\"\($0)\"" }.joined(separator: ",")
            try await show(.PUT, base + "/v1/settings/voxcore_fleet", #"{"voxcore_fleet":[\#(list)]}"#)
            let first = try await show(.POST, base + "/v1/pick")
            if let server = first?["server"] as? String {
                try await show(.POST, server + "/livekit/dialout", #"{"to":"+15550100"}"#)
            }
            let second = try await show(.POST, base + "/v1/pick")
            if let id = second?["reservation_id"] as? String, let server = second?["server"] as? String {
                print("# pretend \(server) answered 429: release, then pick again without it")
                try await show(.POST, base + "/v1/release", #"{"reservation_id":"\#(id)","reason":"busy"}"#)
                try await show(.POST, base + "/v1/pick", #"{"exclude":["\#(server)"]}"#)
            }
            try await show(.GET, base + "/v1/fleet")
            await child.stop()
            await sim.stop()
        } catch {
            await dispatcher?.stop()
            await sim.stop()
            throw error
        }
    }

    /// Prints the request as a curl command and the answer; returns the answer's JSON object.
    @discardableResult
    private func show(_ method: LoopbackHTTP.Method, _ url: String, _ body: String? = nil) async throws -> [String: Any]? {
        var command = "$ curl -s"
        if method != .GET { command += " -X \(method.rawValue)" }
        command += " \(url)"
        if let body { command += " -d '\(body)'" }
        print(command)
        let answer = try await http.send(method, url, json: body)
        print("  → \(answer.status) \(String(buffer: answer.body))")
        return answer.json
    }
}
