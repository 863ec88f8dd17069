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
        var pairs: [(client: Int32, server: Int32)] = []
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

    /// Closes every connection and the listener.
    public func stop() {
        state.withLock { $0.stopping = true }
        while !finished.load(ordering: .acquiring) { usleep(5_000) }
    }

    private func pump() {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let (stalled, stopping, pairs) = state.withLock { ($0.stalled, $0.stopping, $0.pairs) }
            if stopping { break }
            var polled = [pollfd(fd: listener, events: Int16(POLLIN), revents: 0)]
            if !stalled {
                for pair in pairs {
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
        let client = Glibc.accept(listener, nil, nil)
        guard client >= 0 else { return }
        let server = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
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
        state.withLock { $0.pairs.append((client, server)) }
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
