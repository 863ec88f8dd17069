import DispatchTestSupport
import Foundation
import Testing

/// `ingress sync` and `ingress status` against Debian's HAProxy and voxcore-sim, all on loopback.
@Suite("Ingress sync against HAProxy", .serialized)
struct IngressHAProxyTests {
    @Test("a server added to the list is UP within 2 s (p99 of 20) and a WebSocket through the frontend reaches it")
    func addsComeUpAndTakeWebSockets() throws {
        let world = IngressTestWorld()
        let urls = try world.sim(count: 20)
        let haproxy = try HAProxyTestServer()
        _ = try world.sync(haproxy)
        var times: [Duration] = []
        var sockets: [FrontendWebSocket] = []
        defer { sockets.forEach { $0.close() } }
        for url in urls {
            let name = IngressTestWorld.name(url)
            let start = ContinuousClock.now
            try world.fleet("add", url)
            try world.waitUntil(.seconds(10), "\(name) UP") { try haproxy.stat()[name]?.status == "UP" }
            times.append(ContinuousClock.now - start)
            // leastconn: every earlier server holds one WebSocket, the new one none.
            let socket = try FrontendWebSocket(port: haproxy.frontendPort)
            sockets.append(socket)
            #expect(socket.server == url)
        }
        let sorted = times.sorted()
        let p99 = sorted[Int((Double(sorted.count) * 0.99).rounded(.up)) - 1]
        print("ingress add to UP over \(times.count) adds: p50 \(sorted[sorted.count / 2]), p99 \(p99), max \(sorted.last!) (fleet add included)")
        #expect(p99 <= .seconds(2))
        #expect(sockets.allSatisfy { $0.echoes() })
        let status = try world.run(["ingress", "status"] + world.options(haproxy))
        #expect(status.status == 0, "\(status.out)")
    }

    @Test("a server that never answers is put in maintenance after --up-timeout-ms and reported; once it answers it is UP")
    func aSilentServerIsParkedThenReturns() throws {
        let world = IngressTestWorld()
        let healthy = try world.sim(count: 2)
        let haproxy = try HAProxyTestServer()
        _ = try world.sync(haproxy, extra: ["--up-timeout-ms", "2000"])
        for url in healthy { try world.fleet("add", url) }
        try world.waitUntil(.seconds(10), "both UP") { try healthy.allSatisfy { try haproxy.stat()[IngressTestWorld.name($0)]?.status == "UP" } }
        let silentPort = try IngressTestWorld.portForLater()
        let silent = "http://127.0.0.1:\(silentPort)"
        let name = IngressTestWorld.name(silent)
        try world.fleet("add", silent)
        let parked = try world.waitUntil(.seconds(10), "\(name) in maintenance") { try haproxy.stat()[name]?.status == "MAINT" }
        #expect(parked >= .seconds(2))
        let status = try world.run(["ingress", "status"] + world.options(haproxy))
        #expect(status.status == 2)
        #expect(status.out.contains(name) && status.out.contains("MAINT"), "\(status.out)")
        // The rest of the backend unchanged.
        #expect(try healthy.allSatisfy { try haproxy.stat()[IngressTestWorld.name($0)]?.status == "UP" })
        let json = try world.run(["ingress", "status", "--json"] + world.options(haproxy))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.out.utf8)) as? [String: Any])
        #expect(object["in_step"] as? Bool == false)
        #expect((object["failures"] as? [[String: Any]])?.first?["server"] as? String == name)
        // It answers now: UP without anyone's help.
        _ = try world.sim(count: 1, basePort: silentPort)
        try world.waitUntil(.seconds(10), "\(name) UP after it answers") { try haproxy.stat()[name]?.status == "UP" }
        try world.waitUntil(.seconds(5), "ingress status in step") { try world.run(["ingress", "status"] + world.options(haproxy)).status == 0 }
    }

    @Test("removed from the list: drained, its WebSocket kept until the sessions end, then removed; cut at --remove-timeout-ms")
    func removalDrainsThenRemoves() throws {
        let world = IngressTestWorld()
        let urls = try world.sim(count: 2)
        let haproxy = try HAProxyTestServer()
        _ = try world.sync(haproxy, extra: ["--remove-timeout-ms", "4000"])
        for url in urls { try world.fleet("add", url) }
        let names = urls.map(IngressTestWorld.name)
        try world.waitUntil(.seconds(10), "both UP") { try names.allSatisfy { try haproxy.stat()[$0]?.status == "UP" } }
        // One WebSocket on each; remove the first server's URL.
        let sockets = try [FrontendWebSocket(port: haproxy.frontendPort), FrontendWebSocket(port: haproxy.frontendPort)]
        defer { sockets.forEach { $0.close() } }
        let held = try #require(sockets.first { $0.server == urls[0] })
        try world.fleet("remove", urls[0])
        try world.waitUntil(.seconds(2), "\(names[0]) draining") { try haproxy.stat()[names[0]]?.status == "DRAIN" }
        Thread.sleep(forTimeInterval: 2)
        #expect(try haproxy.stat()[names[0]]?.sessions == 1)
        #expect(held.echoes(), "the WebSocket was cut before the remove timeout")
        // After the remove timeout, gone with its session.
        try world.waitUntil(.seconds(5), "\(names[0]) removed") { try haproxy.stat()[names[0]] == nil }
        // The file follows (after `haproxy -c`).
        try world.waitUntil(.seconds(1), "\(names[0]) out of the servers file") {
            try !String(contentsOfFile: haproxy.serversFile, encoding: .utf8).contains(names[0] + " ")
        }
        // A server whose sessions end goes at once.
        let other = try #require(sockets.first { $0.server == urls[1] })
        try world.fleet("remove", urls[1])
        try world.waitUntil(.seconds(2), "\(names[1]) draining") { try haproxy.stat()[names[1]]?.status == "DRAIN" }
        other.close()
        let removed = try world.waitUntil(.seconds(3), "\(names[1]) removed once its session ended") { try haproxy.stat()[names[1]] == nil }
        #expect(removed < .seconds(3))
    }

    @Test("fleet drain, maintenance and resume show in show servers state within 2 s")
    func operatorStatesAreMirrored() throws {
        let world = IngressTestWorld()
        let url = try world.sim(count: 1)[0]
        let name = IngressTestWorld.name(url)
        let haproxy = try HAProxyTestServer()
        _ = try world.sync(haproxy)
        try world.fleet("add", url)
        try world.waitUntil(.seconds(5), "UP") { try haproxy.stat()[name]?.status == "UP" }
        var start = ContinuousClock.now
        try world.fleet("drain", url)
        try world.waitUntil(.seconds(2), "drain (admin 0x08)") { try haproxy.serversState()[name].map { $0.admin & 0x08 != 0 } == true }
        print("drain in HAProxy after \(ContinuousClock.now - start)")
        start = ContinuousClock.now
        try world.fleet("maintenance", url)
        try world.waitUntil(.seconds(2), "maint (admin 0x01)") { try haproxy.serversState()[name].map { $0.admin & 0x01 != 0 } == true }
        print("maintenance in HAProxy after \(ContinuousClock.now - start)")
        start = ContinuousClock.now
        try world.fleet("resume", url)
        try world.waitUntil(.seconds(2), "ready and running") { try haproxy.serversState()[name].map { $0.admin == 0 && $0.op == 2 } == true }
        print("resume to UP in HAProxy after \(ContinuousClock.now - start)")
    }

    @Test("HAProxy restarted or reloaded under the sync, or restarted while it is stopped: the managed servers stay")
    func restartsAndReloads() throws {
        let world = IngressTestWorld()
        let urls = try world.sim(count: 3)
        let haproxy = try HAProxyTestServer()
        let sync = try world.sync(haproxy)
        for url in urls { try world.fleet("add", url) }
        try world.fleet("drain", urls[2])
        let names = urls.map(IngressTestWorld.name)
        let inStep = { try world.run(["ingress", "status"] + world.options(haproxy)).status == 0 }
        try world.waitUntil(.seconds(10), "in step") { try inStep() }
        try haproxy.reload()
        let afterReload = try world.waitUntil(.seconds(5), "in step after a reload") { try inStep() }
        try haproxy.restart()
        let afterRestart = try world.waitUntil(.seconds(5), "in step after a restart") { try inStep() }
        print("in step after a reload: \(afterReload), after a restart: \(afterRestart)")
        #expect(try haproxy.serversState()[names[2]].map { $0.admin & 0x08 != 0 } == true)
        // The sync stopped, HAProxy restarted: the servers are there from the file alone.
        sync.stop()
        try haproxy.restart()
        let servers = try haproxy.serversState()
        #expect(names.allSatisfy { servers[$0] != nil }, "\(servers.keys.sorted())")
        try world.waitUntil(.seconds(5), "the active servers UP without the sync") { try names.prefix(2).allSatisfy { try haproxy.stat()[$0]?.status == "UP" } }
        // The drained one comes back in maintenance (no new connections) until the sync returns.
        #expect(try haproxy.stat()[names[2]]?.status == "MAINT")
        _ = try world.sync(haproxy)
        try world.waitUntil(.seconds(5), "in step once the sync is back") { try inStep() }
    }

    @Test("the sync killed with -9, the list changed twice, the sync started again: in step within 5 s")
    func killedSyncCatchesUp() throws {
        let world = IngressTestWorld()
        let urls = try world.sim(count: 3)
        let haproxy = try HAProxyTestServer()
        let sync = try world.sync(haproxy)
        try world.fleet("add", urls[0])
        try world.fleet("add", urls[1])
        try world.waitUntil(.seconds(10), "in step") { try world.run(["ingress", "status"] + world.options(haproxy)).status == 0 }
        sync.kill9()
        try world.fleet("remove", urls[0])
        try world.fleet("add", urls[2])
        let start = ContinuousClock.now
        _ = try world.sync(haproxy)
        try world.waitUntil(.seconds(5), "in step after the restart") { try world.run(["ingress", "status"] + world.options(haproxy)).status == 0 }
        print("in step \(ContinuousClock.now - start) after the sync started again")
        let servers = try haproxy.serversState()
        #expect(servers[IngressTestWorld.name(urls[0])] == nil)
        #expect(servers[IngressTestWorld.name(urls[2])]?.op == 2)
    }

    @Test("two HAProxy instances, two syncs: both in step after 20 random list changes")
    func twoIngresses() throws {
        let world = IngressTestWorld()
        let urls = try world.sim(count: 6)
        let first = try HAProxyTestServer()
        let second = try HAProxyTestServer()
        _ = try world.sync(first)
        _ = try world.sync(second)
        var generator = SystemRandomNumberGenerator()
        var listed: Set<String> = []
        var states: [String: String] = [:]
        for _ in 0..<20 {
            let url = urls.randomElement(using: &generator)!
            if !listed.contains(url) {
                try world.fleet("add", url)
                listed.insert(url)
            } else {
                switch Int.random(in: 0..<4, using: &generator) {
                case 0:
                    try world.fleet("remove", url)
                    listed.remove(url)
                    states[url] = nil
                case 1: try world.fleet("drain", url); states[url] = "draining"
                case 2: try world.fleet("maintenance", url); states[url] = "maintenance"
                default: try world.fleet("resume", url); states[url] = nil
                }
            }
        }
        for haproxy in [first, second] {
            try world.waitUntil(.seconds(10), "in step") { try world.run(["ingress", "status"] + world.options(haproxy)).status == 0 }
            let servers = try haproxy.serversState()
            #expect(Set(servers.keys) == Set(listed.map(IngressTestWorld.name)))
            for url in listed {
                let admin = servers[IngressTestWorld.name(url)]?.admin ?? -1
                switch states[url] {
                case "draining": #expect(admin & 0x08 != 0)
                case "maintenance": #expect(admin & 0x01 != 0)
                default: #expect(admin == 0)
                }
            }
        }
    }

    @Test("bad input: an unknown backend, a missing socket, a socket that is not HAProxy's: one line, exit 1, nothing changed")
    func badInput() throws {
        let world = IngressTestWorld()
        let haproxy = try HAProxyTestServer()
        let url = try world.sim(count: 1)[0]
        try world.fleet("add", url)
        let before = try String(contentsOfFile: haproxy.serversFile, encoding: .utf8)
        var options = world.options(haproxy)
        options[options.firstIndex(of: "--backend")! + 1] = "nosuch"
        var result = try world.run(["ingress", "sync"] + options)
        #expect(result.status == 1 && result.err.split(separator: "\n").count == 1 && result.err.contains("no backend nosuch"), "\(result.err)")
        options = world.options(haproxy)
        options[options.firstIndex(of: "--haproxy-socket")! + 1] = haproxy.folder.file("missing.sock")
        result = try world.run(["ingress", "sync"] + options)
        #expect(result.status == 1 && result.err.split(separator: "\n").count == 1 && result.err.contains("cannot reach"), "\(result.err)")
        // A Unix socket that answers something else.
        let other = haproxy.folder.file("other.sock")
        let listener = try UnixSocketListener(path: other, answer: "HTTP/1.1 400 Bad Request\r\n\r\n")
        defer { listener.close() }
        options[options.firstIndex(of: "--haproxy-socket")! + 1] = other
        result = try world.run(["ingress", "status"] + options)
        #expect(result.status == 1 && result.err.split(separator: "\n").count == 1 && result.err.contains("does not answer as HAProxy"), "\(result.err)")
        #expect(try String(contentsOfFile: haproxy.serversFile, encoding: .utf8) == before)
        #expect(try haproxy.serversState().isEmpty)
        // Two sources at once.
        result = try world.run(["ingress", "sync"] + world.options(haproxy) + ["--dispatcher", "http://127.0.0.1:1"])
        #expect(result.status != 0 && result.err.split(separator: "\n").count == 1)
    }

    @Test("a list entry that cannot be added is reported per server, in the log and in ingress status; the rest is applied")
    func aRefusedEntry() throws {
        let world = IngressTestWorld()
        let url = try world.sim(count: 1)[0]
        let haproxy = try HAProxyTestServer()
        let sync = try world.sync(haproxy)
        try world.fleet("add", "http://no-such-host.invalid:9000")
        try world.fleet("add", url)
        try world.waitUntil(.seconds(5), "the good one UP") { try haproxy.stat()[IngressTestWorld.name(url)]?.status == "UP" }
        #expect(sync.output.contains("vb-no-such-host.invalid-9000 (http://no-such-host.invalid:9000): not added: cannot resolve"))
        let status = try world.run(["ingress", "status"] + world.options(haproxy))
        #expect(status.status == 2)
        #expect(status.out.split(separator: "\n").filter { $0.hasPrefix("refused vb-no-such-host.invalid-9000") }.count == 1, "\(status.out)")
    }

    @Test("--dispatcher: the sync follows a running serve's event stream (add, drain, remove)")
    func followsTheDispatcher() throws {
        let world = IngressTestWorld()
        let urls = try world.sim(count: 2)
        let haproxy = try HAProxyTestServer()
        let serve = try ChildProcess(ChildProcess.built("voxbridge-dispatch"), ["serve", "--port", "0", "--db", world.db],
                                     environment: ["VOXBRIDGE_PICK_TOKEN": "pick-secret-1", "VOXBRIDGE_ADMIN_TOKEN": "admin-secret-1"],
                                     log: world.folder.file("serve.log"), marker: "listening on http://127.0.0.1:")
        defer { serve.stop() }
        let port = try #require(serve.line(containing: "listening on").flatMap { Int($0.split(separator: ":").last!.prefix { $0.isNumber }) })
        let dispatcher = ["--dispatcher", "http://127.0.0.1:1,http://127.0.0.1:\(port)"]
        _ = try world.sync(haproxy, source: dispatcher, environment: ["VOXBRIDGE_PICK_TOKEN": "pick-secret-1"])
        let names = urls.map(IngressTestWorld.name)
        for url in urls { try world.fleet("add", url) }
        try world.waitUntil(.seconds(5), "both UP") { try names.allSatisfy { try haproxy.stat()[$0]?.status == "UP" } }
        try world.fleet("drain", urls[0])
        try world.waitUntil(.seconds(3), "drained") { try haproxy.stat()[names[0]]?.status == "DRAIN" }
        try world.fleet("remove", urls[1])
        try world.waitUntil(.seconds(3), "removed") { try haproxy.stat()[names[1]] == nil }
        let status = try world.run(["ingress", "status"] + world.options(haproxy, source: dispatcher), environment: ["VOXBRIDGE_PICK_TOKEN": "pick-secret-1"])
        #expect(status.status == 0, "\(status.out) \(status.err)")
    }
}

/// A Unix socket that answers every connection with fixed bytes and closes it: something that is
/// not HAProxy's Runtime API.
final class UnixSocketListener: @unchecked Sendable {
    let descriptor: Int32
    private let thread: Thread

    init(path: String, answer: String) throws {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        let bound = withUnixSocketAddress(path) { bind(descriptor, $0, $1) }
        guard bound == 0, listen(descriptor, 8) == 0 else { throw IngressTestFailure(description: "cannot listen on \(path)") }
        self.descriptor = descriptor
        thread = Thread {
            for _ in 0..<100 {
                let client = accept(descriptor, nil, nil)
                if client < 0 { return }
                var buffer = [UInt8](repeating: 0, count: 512)
                _ = read(client, &buffer, buffer.count)
                _ = answer.withCString { write(client, $0, strlen($0)) }
                Glibc.close(client)
            }
        }
        thread.start()
    }

    func close() {
        shutdown(descriptor, Int32(SHUT_RDWR))
        Glibc.close(descriptor)
    }
}

/// The sync's systemd unit, checked by systemd itself where it is installed.
@Suite struct IngressUnitTests {
    @Test("systemd-analyze verify passes on deploy/voxbridge-ingress-sync.service",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze")))
    func unitVerifies() throws {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let unit = try String(contentsOf: repository.appendingPathComponent("deploy/voxbridge-ingress-sync.service"), encoding: .utf8)
        let folder = TemporaryFolder()
        // The unit names the installed binary; here, the built one.
        let path = folder.file("voxbridge-ingress-sync.service")
        try unit.replacingOccurrences(of: "/usr/local/bin/voxbridge-dispatch", with: ChildProcess.built("voxbridge-dispatch").path)
            .write(toFile: path, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/systemd-analyze")
        // The unit names its man page; a build machine need not have man or the page installed.
        process.arguments = ["verify", "--man=no", path]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        process.waitUntilExit()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 0, "\(text)")
        #expect(!text.contains("voxbridge-ingress-sync.service:"), "\(text)")
    }
}
