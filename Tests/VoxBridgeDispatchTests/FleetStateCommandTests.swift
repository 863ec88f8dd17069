import DispatchTestSupport
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// `fleet drain|maintenance|resume` and `fleet list --long` on the built executable, and
/// `drain --wait` against voxcore-sim's servers.
@Suite("Command line: operator states", .serialized, .ownThreads)
struct FleetStateCommandTests {
    let folder = TemporaryFolder()
    var db: String { folder.file("fleet.sqlite") }

    /// A sim of one server with 4 workers, calls of `callMilliseconds` (and `busy` long calls
    /// from the start); returns it and its server's URL.
    func sim(callMilliseconds: Int = 3_000, busy: Int = 0) throws -> (ChildProcess, String) {
        var arguments = ["--servers", "1", "--workers", "4", "--call-ms", "fixed:\(callMilliseconds)", "--base-port", "0"]
        if busy > 0 { arguments += ["--busy", "0=\(busy)"] }
        let sim = try ChildProcess(ChildProcess.built("voxcore-sim"), arguments, log: folder.file("sim-\(UUID().uuidString).log"), marker: "voxcore-sim ready")
        let line = try #require(sim.line(containing: "server 0 "))
        return (sim, String(line.split(separator: " ").last ?? ""))
    }

    /// Places one call on the sim server (as the dialout code would after a pick).
    func dial(_ server: String) throws {
        var request = URLRequest(url: URL(string: server + "/livekit/dialout")!)
        request.httpMethod = "POST"
        request.httpBody = Data("{}".utf8)
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var status = 0
        URLSession.shared.dataTask(with: request) { _, response, _ in
            status = (response as? HTTPURLResponse)?.statusCode ?? 0
            done.signal()
        }.resume()
        _ = done.wait(timeout: .now() + 5)
        #expect(status == 200)
    }

    @Test("drain, maintenance and resume store the state; list --long shows it; the list's version stays")
    func statesFromTheCommandLine() throws {
        let url = "https://a.example.com"
        #expect(try DispatchProcess.runBlocking(["fleet", "add", url, "--db", db]).status == 0)
        var result = try DispatchProcess.runBlocking(["fleet", "drain", "HTTPS://A.example.com/", "--reason", "kernel upgrade", "--by", "maria", "--db", db])
        #expect(result.status == 0)
        #expect(result.standardOutput == "https://a.example.com is draining (by maria: kernel upgrade)\n")
        result = try DispatchProcess.runBlocking(["fleet", "list", "--long", "--db", db])
        let fields = result.standardOutput.split(separator: "\t").map(String.init)
        #expect(fields.prefix(4) == [url, "draining", "kernel upgrade", "maria"])
        #expect(fields.last?.hasSuffix("Z\n") == true)
        #expect(try DispatchProcess.runBlocking(["fleet", "list", "--db", db]).standardOutput == url + "\n")
        result = try DispatchProcess.runBlocking(["fleet", "maintenance", url, "--db", db], environment: [:])
        #expect(result.status == 0 && result.standardOutput.hasPrefix("https://a.example.com is maintenance (by "))
        result = try DispatchProcess.runBlocking(["fleet", "resume", url, "--by", "maria", "--db", db])
        #expect(result.status == 0 && result.standardOutput == "https://a.example.com is active (by maria)\n")
        result = try DispatchProcess.runBlocking(["fleet", "list", "--long", "--db", db])
        #expect(result.standardOutput == "\(url)\tactive\t-\t-\t-\n")
        // The list itself: one write (the add), version 1.
        result = try DispatchProcess.runBlocking(["fleet", "add", url, "--db", db])
        #expect(result.standardOutput.contains("(version 1)"))
    }

    @Test("refused: a URL not listed, a bad URL, a reason too long, a bad --timeout; one line, exit 1, nothing changed")
    func refusals() throws {
        #expect(try DispatchProcess.runBlocking(["fleet", "add", "https://a.example.com", "--db", db]).status == 0)
        for arguments in [
            ["fleet", "drain", "https://b.example.com"], ["fleet", "maintenance", "ftp://a.example.com"],
            ["fleet", "drain", "https://a.example.com", "--reason", String(repeating: "x", count: 201)],
            ["fleet", "drain", "https://a.example.com", "--wait", "--timeout", "0"],
            ["fleet", "drain", "https://a.example.com", "--wait", "--timeout", "2", "--quiet-ms", "2000"],
        ] {
            let result = try DispatchProcess.runBlocking(arguments + ["--db", db])
            #expect(result.status == 1, "\(arguments)")
            #expect(result.standardError.split(separator: "\n").count == 1, "\(result.standardError)")
        }
        let list = try DispatchProcess.runBlocking(["fleet", "list", "--long", "--db", db])
        #expect(list.standardOutput == "https://a.example.com\tactive\t-\t-\t-\n")
    }

    @Test("drain --wait returns within the quiet window and a second of the last call's end")
    func drainWaitReturnsWhenCallsEnd() throws {
        let (sim, server) = try sim(callMilliseconds: 3_000)
        defer { sim.stop() }
        #expect(try DispatchProcess.runBlocking(["fleet", "add", server, "--db", db]).status == 0)
        try dial(server)
        try dial(server)
        let lastCallEnds = ContinuousClock.now + .seconds(3)
        let result = try DispatchProcess.runBlocking(["fleet", "drain", server, "--wait", "--quiet-ms", "1000", "--db", db], timeout: .seconds(30))
        let returned = ContinuousClock.now
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.contains("2 calls left"), "progress printed: \(result.standardOutput)")
        #expect(result.standardOutput.contains("drained"))
        print("drain --wait returned \(lastCallEnds.duration(to: returned)) after the last call ended (quiet window 1 s)")
        #expect(returned >= lastCallEnds + .milliseconds(900), "not before the calls ended and the window passed")
        #expect(returned <= lastCallEnds + .seconds(2), "within the quiet window + 1 s")
    }

    @Test("drain --wait with calls that never end: exit 2 at --timeout with the count")
    func drainWaitTimesOut() throws {
        let (sim, server) = try sim(busy: 2)
        defer { sim.stop() }
        #expect(try DispatchProcess.runBlocking(["fleet", "add", server, "--db", db]).status == 0)
        let start = ContinuousClock.now
        let result = try DispatchProcess.runBlocking(["fleet", "drain", server, "--wait", "--timeout", "2", "--quiet-ms", "1000", "--db", db], timeout: .seconds(30))
        let took = start.duration(to: .now)
        #expect(result.status == 2)
        #expect(result.standardError.contains("still has 2 calls after 2 s"), "\(result.standardError)")
        #expect(took < .seconds(6), "\(took)")
        let list = try DispatchProcess.runBlocking(["fleet", "list", "--long", "--db", db])
        #expect(list.standardOutput.contains("\tdraining\t"), "it stays draining")
    }
}
