import DispatchTestSupport
import Foundation

/// What the HAProxy tests share: the built binaries run as child processes, voxcore-sim as the
/// fleet, a store file, and a raw WebSocket client for the frontend.
final class IngressTestWorld: @unchecked Sendable {
    // @unchecked: used by one test at a time, on its own thread.
    let folder = TemporaryFolder()
    var db: String { folder.file("fleet.sqlite") }
    private var children: [ChildProcess] = []

    /// A sim of `count` servers (from `basePort`, 0: free ports); returns their URLs.
    func sim(count: Int, basePort: Int = 0) throws -> [String] {
        let sim = try ChildProcess(ChildProcess.built("voxcore-sim"),
                                   ["--servers", String(count), "--base-port", String(basePort), "--workers", "64"],
                                   log: folder.file("sim-\(UUID().uuidString).log"), marker: "voxcore-sim ready")
        children.append(sim)
        return try (0..<count).map { index in
            guard let line = sim.line(containing: "server \(index) ") else { throw IngressTestFailure(description: sim.output) }
            return String(line.split(separator: " ").last ?? "")
        }
    }

    /// A port for a sim server started later on it: it and the next one (the sim's control port)
    /// free, below the kernel's ephemeral range, so no outgoing connection takes it meanwhile.
    static func portForLater() throws -> Int {
        for _ in 0..<200 {
            let port = Int.random(in: 20_000..<32_000)
            let sockets = [port, port + 1].map { candidate -> Int32 in
                let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
                var address = sockaddr_in()
                address.sin_family = sa_family_t(AF_INET)
                address.sin_port = in_port_t(UInt16(candidate).bigEndian)
                address.sin_addr.s_addr = inet_addr("127.0.0.1")
                let bound = withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
                }
                if bound != 0 { Glibc.close(descriptor); return -1 }
                return descriptor
            }
            sockets.filter { $0 >= 0 }.forEach { Glibc.close($0) }
            if !sockets.contains(-1) { return port }
        }
        throw IngressTestFailure(description: "no free pair of ports below the ephemeral range")
    }

    /// `ingress sync` on `haproxy`'s backend, following the store file (or `source`).
    func sync(_ haproxy: HAProxyTestServer, source: [String]? = nil, extra: [String] = [], environment: [String: String] = [:]) throws -> ChildProcess {
        let arguments = ["ingress", "sync"] + options(haproxy, source: source) + extra
        let sync = try ChildProcess(ChildProcess.built("voxbridge-dispatch"), arguments, environment: environment,
                                    log: folder.file("sync-\(UUID().uuidString).log"), marker: "ingress sync: backend")
        children.append(sync)
        return sync
    }

    /// The options both ingress subcommands take for `haproxy`.
    func options(_ haproxy: HAProxyTestServer, source: [String]? = nil) -> [String] {
        ["--haproxy-socket", haproxy.socket, "--backend", haproxy.backend, "--servers-file", haproxy.serversFile,
         "--haproxy-config", haproxy.mainConfig, "--status-file", haproxy.folder.file("status.json")] + (source ?? ["--db", db])
    }

    /// Runs the executable to its end (at most 30 s): status, standard output, standard error.
    @discardableResult
    func run(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, out: String, err: String) {
        let process = ChildProcess.prepare(ChildProcess.built("voxbridge-dispatch"), arguments, environment: environment)
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = ContinuousClock.now + .seconds(30)
        while process.isRunning, ContinuousClock.now < deadline { usleep(10_000) }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        return (process.terminationStatus,
                String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self),
                String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
    }

    /// `fleet SUBCOMMAND URL --db …`, expected to succeed.
    func fleet(_ subcommand: String, _ url: String) throws {
        let result = try run(["fleet", subcommand, url, "--db", db])
        guard result.status == 0 else { throw IngressTestFailure(description: "fleet \(subcommand) \(url): \(result.err)") }
    }

    /// Waits (polling every 20 ms, at most `timeout`) until `condition` holds; returns how long it took.
    @discardableResult
    func waitUntil(_ timeout: Duration = .seconds(10), _ what: String, _ condition: () throws -> Bool) throws -> Duration {
        let start = ContinuousClock.now
        while ContinuousClock.now - start < timeout {
            if (try? condition()) == true { return ContinuousClock.now - start }
            usleep(20_000)
        }
        throw IngressTestFailure(description: "not within \(timeout): \(what)")
    }

    /// The HAProxy name of a sim URL.
    static func name(_ url: String) -> String {
        let port = url.split(separator: ":").last.map(String.init) ?? ""
        return "vb-127.0.0.1-\(port)"
    }

    deinit {
        for child in children { child.stop() }
    }
}

/// A WebSocket opened through HAProxy's frontend to a sim's `GET /attach`: the greeting says
/// which server took it; it stays open until closed.
final class FrontendWebSocket: @unchecked Sendable {
    // @unchecked: used by one test, one call at a time.
    let descriptor: Int32
    /// The URL of the sim server that answered.
    let server: String

    init(port: Int) throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { Glibc.close(descriptor); throw IngressTestFailure(description: "cannot connect to the frontend") }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        self.descriptor = descriptor
        let request = "GET /attach HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        _ = request.withCString { write(descriptor, $0, strlen($0)) }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        // The 101 answer, then the greeting frame.
        while true {
            let count = read(descriptor, &buffer, buffer.count)
            guard count > 0 else { Glibc.close(descriptor); throw IngressTestFailure(description: "the WebSocket closed: \(String(decoding: received, as: UTF8.self))") }
            received += buffer[..<count]
            let text = String(decoding: received, as: UTF8.self)
            guard text.hasPrefix("HTTP/1.1 101") else {
                if text.contains("\r\n\r\n") { Glibc.close(descriptor); throw IngressTestFailure(description: "no upgrade: \(text)") }
                continue
            }
            guard let end = received.firstRange(of: Array("\r\n\r\n".utf8)) else { continue }
            let frame = Array(received[end.upperBound...])
            if let payload = Self.payload(frame), let object = try? JSONSerialization.jsonObject(with: Data(payload)) as? [String: Any],
                let url = object["url"] as? String {
                server = url
                return
            }
        }
    }

    /// The payload of one complete unmasked text frame, or `nil` when it is not all there.
    static func payload(_ frame: [UInt8]) -> [UInt8]? {
        guard frame.count >= 2 else { return nil }
        var length = Int(frame[1] & 0x7F)
        var start = 2
        if length == 126 {
            guard frame.count >= 4 else { return nil }
            length = Int(frame[2]) << 8 | Int(frame[3])
            start = 4
        }
        guard frame.count >= start + length else { return nil }
        return Array(frame[start..<start + length])
    }

    /// Sends a masked text frame and reads the echo: whether the connection still carries data.
    /// A ping the server sent meanwhile (the sim pings idle sockets) is answered with a pong.
    func echoes(_ text: String = "ping") -> Bool {
        guard send(opcode: 0x1, Array(text.utf8)) else { return false }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 512)
        for _ in 0..<20 {
            while let (opcode, payload, size) = Self.frame(received) {
                received.removeFirst(size)
                if opcode == 0x9 { _ = send(opcode: 0xA, payload); continue }
                if opcode == 0x1 { return payload == Array(text.utf8) }
                return false
            }
            let count = read(descriptor, &buffer, buffer.count)
            guard count > 0 else { return false }
            received += buffer[..<count]
        }
        return false
    }

    /// One complete unmasked frame at the start of `bytes`: opcode, payload and size.
    static func frame(_ bytes: [UInt8]) -> (UInt8, [UInt8], Int)? {
        guard let payload = payload(bytes) else { return nil }
        let header = bytes[1] & 0x7F == 126 ? 4 : 2
        return (bytes[0] & 0x0F, payload, header + payload.count)
    }

    private func send(opcode: UInt8, _ payload: [UInt8]) -> Bool {
        let mask: [UInt8] = [1, 2, 3, 4]
        var frame: [UInt8] = [0x80 | opcode, 0x80 | UInt8(payload.count)] + mask
        frame += payload.enumerated().map { $0.element ^ mask[$0.offset % 4] }
        return frame.withUnsafeBytes({ write(descriptor, $0.baseAddress, $0.count) }) == frame.count
    }

    func close() { Glibc.close(descriptor) }
}

#if canImport(Glibc)
import Glibc
#endif

/// Why a step of an ingress test did not happen.
struct IngressTestFailure: Error, CustomStringConvertible {
    var description: String
}
