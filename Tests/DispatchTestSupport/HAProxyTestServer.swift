import Foundation

/// Debian's HAProxy for a test: master-worker in the foreground (`-W -db`), an admin socket in a
/// temporary folder, a frontend on a free loopback port and the managed backend in a servers
/// file of its own. Stopped by PID at the latest when released.
public final class HAProxyTestServer: @unchecked Sendable {
    // @unchecked: `child` is replaced only by the test that owns the server, one call at a time.

    /// The folder holding the configuration, the socket and the logs.
    public let folder: TemporaryFolder
    /// The backend's name.
    public let backend: String
    /// The main configuration file.
    public let mainConfig: String
    /// The servers file (the managed backend).
    public let serversFile: String
    /// The admin socket.
    public let socket: String
    /// The frontend's port.
    public let frontendPort: Int
    /// The master process.
    public private(set) var child: ChildProcess
    private var starts = 0

    /// Writes the configuration and starts HAProxy.
    public init(backend: String = "voxcore", serversFilePreamble: String? = nil) throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/haproxy") else {
            throw ChildProcess.StartFailure(description: "HAProxy is not installed (make test installs Debian's haproxy)")
        }
        folder = TemporaryFolder()
        self.backend = backend
        mainConfig = folder.file("haproxy.cfg")
        serversFile = folder.file("voxbridge-\(backend).cfg")
        socket = folder.file("admin.sock")
        frontendPort = try LoopbackSocket.freePort()
        let main = """
            global
                stats socket \(socket) mode 600 level admin
                stats timeout 10s
            defaults
                mode http
                timeout connect 2s
                timeout client 60s
                timeout server 60s
                timeout tunnel 1h
            frontend wss
                bind 127.0.0.1:\(frontendPort)
                default_backend \(backend)

            """
        try main.write(toFile: mainConfig, atomically: true, encoding: .utf8)
        let servers = serversFilePreamble ?? """
            backend \(backend)
                balance leastconn
                option httpchk GET /health/fleet
                http-check expect status 200

            """
        try servers.write(toFile: serversFile, atomically: true, encoding: .utf8)
        child = try Self.launch(mainConfig: mainConfig, serversFile: serversFile, log: folder.file("haproxy-0.log"))
        starts = 1
    }

    private static func launch(mainConfig: String, serversFile: String, log: String) throws -> ChildProcess {
        try ChildProcess(URL(fileURLWithPath: "/usr/sbin/haproxy"), ["-W", "-db", "-f", mainConfig, "-f", serversFile],
                         log: log, marker: "Loading success", timeout: .seconds(10))
    }

    /// Stops HAProxy (SIGTERM, then SIGKILL) and starts it again from the files.
    public func restart() throws {
        child.stop()
        child = try Self.launch(mainConfig: mainConfig, serversFile: serversFile, log: folder.file("haproxy-\(starts).log"))
        starts += 1
    }

    /// A reload: SIGUSR2 to the master, which starts a new worker from the files; returns once
    /// the master says the new one loaded (at most 10 s).
    public func reload() throws {
        let before = child.output.components(separatedBy: "Loading success").count
        kill(child.pid, SIGUSR2)
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if child.output.components(separatedBy: "Loading success").count > before { return }
            usleep(20_000)
        }
        throw ChildProcess.StartFailure(description: "HAProxy did not reload:\n\(child.output)")
    }

    /// Stops HAProxy.
    public func stop() { child.stop() }

    /// Sends one Runtime API command and returns the answer.
    public func command(_ text: String) throws -> String {
        let descriptor = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        let connected = withUnixSocketAddress(socket) { connect(descriptor, $0, $1) }
        guard connected == 0 else { throw ChildProcess.StartFailure(description: "cannot connect to \(socket): errno \(errno)") }
        _ = (text + "\n").withCString { write(descriptor, $0, strlen($0)) }
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 8192)
        while true {
            let count = read(descriptor, &buffer, buffer.count)
            if count <= 0 { break }
            answer += buffer[..<count]
        }
        return String(decoding: answer, as: UTF8.self)
    }

    /// `show servers state` of the backend: server name → (operational state, admin flags).
    public func serversState() throws -> [String: (op: Int, admin: Int)] {
        var servers: [String: (op: Int, admin: Int)] = [:]
        for line in try command("show servers state \(backend)").split(separator: "\n").dropFirst() where !line.hasPrefix("#") {
            let fields = line.split(separator: " ")
            guard fields.count > 6, let op = Int(fields[5]), let admin = Int(fields[6]) else { continue }
            servers[String(fields[3])] = (op, admin)
        }
        return servers
    }

    /// `show stat` status words by server (`UP`, `DOWN`, `MAINT`, `DRAIN`, …) and sessions.
    public func stat() throws -> [String: (status: String, sessions: Int)] {
        let lines = try command("show stat \(backend) 4 -1").split(separator: "\n")
        guard let header = lines.first else { return [:] }
        let columns = header.dropFirst(2).split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard let name = columns.firstIndex(of: "svname"), let status = columns.firstIndex(of: "status"),
            let sessions = columns.firstIndex(of: "scur") else { return [:] }
        var found: [String: (status: String, sessions: Int)] = [:]
        for line in lines.dropFirst() {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count > max(name, status, sessions) else { continue }
            found[String(fields[name])] = (String(fields[status]), Int(fields[sessions]) ?? 0)
        }
        return found
    }

    deinit { child.stop() }
}

#if canImport(Glibc)
import Glibc
#endif
