import Foundation
import Synchronization
#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// A TCP proxy on 127.0.0.1 in front of one target (PostgreSQL in the tests), which can stall:
/// while stalled, every connection through it stays open and nothing passes either way, new
/// connections included (a black-holed link, as a partition leaves it); on ``resume()`` what
/// was held passes again. `tc netem` is not available on these machines, hence a proxy of the
/// tests' own.
///
/// It can also cut one origin only: ``block(from:)`` stalls the connections a given process
/// opened through it, found by the connection's source port in `/proc/net/tcp` and the socket's
/// inode among that process's descriptors. Put in front of an instance's advertised URL, it cuts
/// one link (that peer, or the callers) and leaves the others, one way: the blocked process
/// cannot reach the target, while the target still reaches it through that process's own proxy.
public final class StallingProxy: Sendable {
    /// The port callers connect to.
    public let port: Int
    private let target: (host: String, port: Int)
    private let listener: Int32
    private let state = Mutex(State())
    private let finished = Atomic<Bool>(false)

    private struct State: Sendable {
        var stalled = false
        var stopping = false
        var pairs: [Pair] = []
        /// Processes whose connections do not pass.
        var blocked: Set<pid_t> = []
    }

    private struct Pair: Sendable {
        var client: Int32
        var server: Int32
        /// The process that opened the connection, when it was among those asked about.
        var origin: pid_t?
        /// The connecting side's port, to find its process.
        var sourcePort: Int
        /// The processes already checked against this connection.
        var checked: Set<pid_t> = []
    }

    /// A proxy to `host:port`, forwarding at once.
    public init(toHost host: String = "127.0.0.1", port targetPort: Int) throws {
        let (descriptor, port) = try LoopbackSocket.listening()
        self.listener = descriptor
        self.port = port
        self.target = (host, targetPort)
        let thread = Thread { [self] in
            pump()
            finished.store(true, ordering: .releasing)
        }
        thread.start()
    }

    /// A PostgreSQL URL through this proxy, from one to the real server.
    public func url(for url: String) -> String {
        guard var components = URLComponents(string: url) else { return url }
        components.host = "127.0.0.1"
        components.port = port
        return components.string ?? url
    }

    /// From now on nothing passes, in either direction, on any connection.
    public func stall() { state.withLock { $0.stalled = true } }

    /// Passes again what was held, and what comes.
    public func resume() { state.withLock { $0.stalled = false } }

    /// From now on nothing passes on the connections process `origin` opened (or opens) through
    /// this proxy; the others pass.
    public func block(from origin: pid_t) {
        state.withLock { _ = $0.blocked.insert(origin) }
    }

    /// Passes again what process `origin` sent or was sent.
    public func unblock(from origin: pid_t) {
        state.withLock { _ = $0.blocked.remove(origin) }
    }

    /// Passes everything again: no origin blocked, not stalled.
    public func healAll() {
        state.withLock { state in
            state.blocked = []
            state.stalled = false
        }
    }

    /// Closes every connection and the listener.
    public func stop() {
        state.withLock { $0.stopping = true }
        while !finished.load(ordering: .acquiring) { usleep(5_000) }
    }

    private func pump() {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let (stalled, stopping, blocked) = state.withLock { ($0.stalled, $0.stopping, $0.blocked) }
            if stopping { break }
            let pairs = resolveOrigins(blocked)
            var polled = [pollfd(fd: listener, events: Int16(POLLIN), revents: 0)]
            if !stalled {
                for pair in pairs where pair.origin.map({ !blocked.contains($0) }) ?? true {
                    polled.append(pollfd(fd: pair.client, events: Int16(POLLIN), revents: 0))
                    polled.append(pollfd(fd: pair.server, events: Int16(POLLIN), revents: 0))
                }
            }
            guard poll(&polled, nfds_t(polled.count), 20) > 0 else { continue }
            if polled[0].revents & Int16(POLLIN) != 0 { accept() }
            var closed: Set<Int32> = []
            for entry in polled.dropFirst() where entry.revents != 0 {
                guard let pair = pairs.first(where: { $0.client == entry.fd || $0.server == entry.fd }) else { continue }
                let other = pair.client == entry.fd ? pair.server : pair.client
                let count = read(entry.fd, &buffer, buffer.count)
                if count <= 0 || !Self.writeAll(buffer, count: count, to: other) {
                    closed.insert(pair.client)
                }
            }
            if !closed.isEmpty {
                state.withLock { state in
                    for pair in state.pairs where closed.contains(pair.client) {
                        Glibc.close(pair.client)
                        Glibc.close(pair.server)
                    }
                    state.pairs.removeAll { closed.contains($0.client) }
                }
            }
        }
        state.withLock { state in
            for pair in state.pairs {
                Glibc.close(pair.client)
                Glibc.close(pair.server)
            }
            state.pairs = []
        }
        Glibc.close(listener)
    }

    private func accept() {
        // Close-on-exec, both: a child process started later (a restarted instance) must not
        // inherit a copy, which would keep a connection open after this proxy closed it.
        let client = Glibc.accept(listener, nil, nil)
        guard client >= 0 else { return }
        _ = fcntl(client, F_SETFD, FD_CLOEXEC)
        let server = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(target.port).bigEndian)
        address.sin_addr.s_addr = inet_addr(target.host)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(server, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard server >= 0, connected == 0 else {
            Glibc.close(client)
            if server >= 0 { Glibc.close(server) }
            return
        }
        var peer = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &peer) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(client, $0, &length) }
        }
        let sourcePort = Int(UInt16(bigEndian: peer.sin_port))
        state.withLock { $0.pairs.append(Pair(client: client, server: server, origin: nil, sourcePort: sourcePort)) }
    }

    /// The pairs, each checked against every blocked process it was not checked against yet (an
    /// origin once found stays); the pump thread only changes `pairs`' origins.
    private func resolveOrigins(_ blocked: Set<pid_t>) -> [Pair] {
        var pairs = state.withLock { $0.pairs }
        let unchecked = pairs.indices.filter { pairs[$0].origin == nil && !blocked.isSubset(of: pairs[$0].checked) }
        guard !unchecked.isEmpty else { return pairs }
        let inodes = Self.socketInodes(toPort: port)
        var owned: [pid_t: Set<UInt64>] = [:]
        for pid in blocked { owned[pid] = Self.socketInodes(ofProcess: pid) }
        for index in unchecked {
            // A connection whose socket is gone by now is closed already: it passes nothing either way.
            if let inode = inodes[pairs[index].sourcePort] {
                pairs[index].origin = owned.first { $0.value.contains(inode) }?.key
            }
            pairs[index].checked.formUnion(blocked)
        }
        let resolved = pairs
        state.withLock { state in
            for pair in resolved {
                if let index = state.pairs.firstIndex(where: { $0.client == pair.client }) {
                    state.pairs[index].origin = pair.origin
                    state.pairs[index].checked = pair.checked
                }
            }
        }
        return pairs
    }

    /// The inodes of the loopback TCP sockets connected to `port`, by their own (source) port:
    /// IPv4 sockets and dual-stack ones (IPv4-mapped, in `tcp6`), which some clients open.
    private static func socketInodes(toPort port: Int) -> [Int: UInt64] {
        let tables = ["/proc/net/tcp", "/proc/net/tcp6"].map(Self.procFile)
        var inodes: [Int: UInt64] = [:]
        for line in tables.flatMap({ $0.split(separator: "\n").dropFirst() }) {
            let fields = line.split(separator: " ")
            guard fields.count > 9,
                let local = fields[1].split(separator: ":").last.flatMap({ Int($0, radix: 16) }),
                let remote = fields[2].split(separator: ":").last.flatMap({ Int($0, radix: 16) }),
                remote == port, let inode = UInt64(fields[9])
            else { continue }
            inodes[local] = inode
        }
        return inodes
    }

    /// A file of /proc read to its end: they report a size of 0 and give a page per read, so
    /// reading what the size says (as `String(contentsOfFile:)` does) would stop at the first page.
    private static func procFile(_ path: String) -> String {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return "" }
        defer { Glibc.close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = read(descriptor, &chunk, chunk.count)
            if count <= 0 { break }
            bytes += chunk[0..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The socket inodes among process `pid`'s descriptors.
    private static func socketInodes(ofProcess pid: pid_t) -> Set<UInt64> {
        let folder = "/proc/\(pid)/fd"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return [] }
        var inodes: Set<UInt64> = []
        for name in names {
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: folder + "/" + name),
                target.hasPrefix("socket:["), let inode = UInt64(target.dropFirst(8).dropLast())
            else { continue }
            inodes.insert(inode)
        }
        return inodes
    }

    private static func writeAll(_ buffer: [UInt8], count: Int, to descriptor: Int32) -> Bool {
        var sent = 0
        while sent < count {
            let result = buffer.withUnsafeBytes { send(descriptor, $0.baseAddress! + sent, count - sent, Int32(MSG_NOSIGNAL)) }
            if result <= 0 { return false }
            sent += result
        }
        return true
    }
}
