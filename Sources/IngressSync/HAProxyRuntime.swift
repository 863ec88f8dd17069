#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import Foundation

/// HAProxy's Runtime API on its admin socket: one connection per command, the answer read to the
/// end (HAProxy closes a non-interactive connection after answering). Blocking, bounded by
/// ``timeout``; the sync calls it from its own loop, never from a pick path.
public struct HAProxyRuntime: Sendable {
    /// The admin socket's path.
    public let path: String
    /// The bound on connecting, sending and reading one answer.
    public var timeout: Duration

    /// A client of the socket at `path`.
    public init(path: String, timeout: Duration = .seconds(2)) {
        self.path = path
        self.timeout = timeout
    }

    /// What `show info` says of the running process.
    public struct Info: Sendable, Equatable {
        /// The worker's process id: a reload or a restart changes it.
        public var pid: Int
        /// `Version`.
        public var version: String
        /// `Uptime_sec`.
        public var uptimeSeconds: Int
    }

    /// Checks that the socket is HAProxy's at level admin and that `backend` exists.
    /// - Throws: ``IngressError`` (`socketUnreachable`, `notHAProxy`, `notAdmin`, `unknownBackend`).
    public func verify(backend: String) throws(IngressError) -> Info {
        let info = try self.info()
        let level = try send("show cli level").trimmingCharacters(in: .whitespacesAndNewlines)
        guard level == "admin" else { throw .notAdmin(path: path, level: level.isEmpty ? "unknown" : level) }
        let state = try send("show servers state \(backend)")
        if state.contains("Can't find backend") { throw .unknownBackend(backend) }
        return info
    }

    /// `show info`.
    public func info() throws(IngressError) -> Info {
        let answer = try send("show info")
        var fields: [Substring: Substring] = [:]
        for line in answer.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[line[..<colon]] = line[line.index(after: colon)...].drop { $0 == " " }
        }
        guard fields["Name"] == "HAProxy", let pid = fields["Pid"].flatMap({ Int($0) }) else {
            throw .notHAProxy(path: path)
        }
        return Info(pid: pid, version: fields["Version"].map(String.init) ?? "", uptimeSeconds: fields["Uptime_sec"].flatMap { Int($0) } ?? 0)
    }

    /// The backend's servers.
    public func snapshot(backend: String) throws(IngressError) -> BackendSnapshot {
        let state = try send("show servers state \(backend)")
        if state.contains("Can't find backend") { throw .unknownBackend(backend) }
        let stat = try send("show stat \(backend) 4 -1")
        return try BackendSnapshot.parse(serversState: state, stat: stat)
    }

    /// Sends a change; an answer HAProxy gives to a refused command is thrown.
    public func execute(_ command: String) throws(IngressError) {
        let answer = try send(command).trimmingCharacters(in: .whitespacesAndNewlines)
        if answer.isEmpty || Self.accepted.contains(where: { answer.hasPrefix($0) }) { return }
        throw .refused(command: command, answer: answer)
    }

    /// Answers that mean the command was carried out.
    static let accepted = ["New server registered.", "Server deleted.", "IP changed", "no need to change", "port changed"]

    /// Sends one command and returns the whole answer.
    public func send(_ command: String) throws(IngressError) -> String {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw .socketUnreachable(path: path, reason: String(cString: strerror(errno))) }
        defer { close(descriptor) }
        var bound = timeval(tv_sec: Int(timeout.components.seconds), tv_usec: Int(timeout.components.attoseconds / 1_000_000_000_000))
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &bound, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &bound, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(path.utf8)
        guard pathBytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw .socketUnreachable(path: path, reason: "the path is too long for a Unix socket")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: pathBytes)
            raw[pathBytes.count] = 0
        }
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard connected == 0 else { throw .socketUnreachable(path: path, reason: String(cString: strerror(errno))) }
        let request = Array((command + "\n").utf8)
        var sent = 0
        while sent < request.count {
            let written = request[sent...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            guard written > 0 else { throw .socketUnreachable(path: path, reason: "write: \(String(cString: strerror(errno)))") }
            sent += written
        }
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16_384)
        while answer.count < 16 << 20 {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count == 0 { break }
            guard count > 0 else {
                if errno == EINTR { continue }
                throw .socketUnreachable(path: path, reason: "read: \(String(cString: strerror(errno)))")
            }
            answer += buffer[..<count]
        }
        return String(decoding: answer, as: UTF8.self)
    }
}
