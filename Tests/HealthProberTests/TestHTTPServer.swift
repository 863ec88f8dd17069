#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import Synchronization
@testable import HealthProber

/// A small HTTP/1.1 server on 127.0.0.1 for tests: one thread accepts, one thread serves each
/// connection (keep-alive), answers are configured per path, and it counts connections and
/// requests. ``stop()`` shuts every socket down and joins every thread, so nothing outlives a
/// test.
final class TestHTTPServer: Sendable {
    /// How the server answers one path.
    struct Route: Sendable {
        var status = 200
        var headers: [(String, String)] = [("Content-Type", "application/json")]
        var body: [UInt8] = []
        /// Wait this long before answering.
        var delay: Duration = .zero
        /// Never answer: keep the connection open and read until the client goes away.
        var hang = false
        /// Close the connection after answering.
        var close = false
        /// Close the connection without writing a byte.
        var drop = false

        /// A 200 JSON answer.
        static func json(_ text: String) -> Route { Route(body: Array(text.utf8)) }
    }

    /// The port the kernel chose.
    let port: Int
    /// `http://127.0.0.1:PORT`.
    var baseURL: String { "http://127.0.0.1:\(port)" }

    private struct State {
        var routes: [String: Route]
        var accepted = 0
        var requestsByPath: [String: Int] = [:]
        var lastHeaders: [String: [String: String]] = [:]
        var openConnections: Set<Int32> = []
        var connectionThreads: [CurlThread] = []
        var stopped = false
    }

    private let listenFD: Int32
    private let state: Mutex<State>
    private let acceptThread: Mutex<CurlThread?> = Mutex(nil)

    /// Binds 127.0.0.1 port 0 and starts accepting.
    init(routes: [String: Route] = [:]) throws {
        state = Mutex(State(routes: routes))
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestServerError.socket(errno) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(fd, 1024) == 0 else {
            let code = errno
            close(fd)
            throw TestServerError.socket(code)
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        listenFD = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        guard let thread = try? CurlThread.start(stackSize: 256 * 1024, { [self] in acceptLoop() }) else {
            close(fd)
            throw TestServerError.thread
        }
        acceptThread.withLock { $0 = thread }
    }

    deinit {
        stop()
    }

    // MARK: - Configuration and counters

    /// Changes how `path` is answered from now on.
    func setRoute(_ path: String, _ route: Route) {
        state.withLock { $0.routes[path] = route }
    }

    /// TCP connections accepted so far.
    var acceptedConnections: Int { state.withLock { $0.accepted } }

    /// Requests received for `path` so far (the request target as sent).
    func requestCount(_ path: String) -> Int { state.withLock { $0.requestsByPath[path, default: 0] } }

    /// The headers of the last request for `path`, names lower-cased.
    func lastHeaders(_ path: String) -> [String: String]? { state.withLock { $0.lastHeaders[path] } }

    /// Stops accepting, cuts every open connection and joins every thread. Idempotent.
    func stop() {
        let alreadyStopped = state.withLock { state in
            defer { state.stopped = true }
            return state.stopped
        }
        if !alreadyStopped {
            // Wakes the blocked accept() (Linux returns EINVAL on a shut-down listener).
            shutdown(listenFD, Int32(SHUT_RDWR))
        }
        acceptThread.withLock { thread in
            thread?.join()
            if thread != nil { close(listenFD) }
            thread = nil
        }
        // No new connection threads can appear now; cut the open ones and wait for them.
        let threads = state.withLock { state in
            for fd in state.openConnections { shutdown(fd, Int32(SHUT_RDWR)) }
            defer { state.connectionThreads.removeAll() }
            return state.connectionThreads
        }
        for thread in threads { thread.join() }
    }

    // MARK: - Serving

    private func acceptLoop() {
        while true {
            let fd = accept(listenFD, nil, nil)
            if fd < 0 {
                if errno == EINTR { continue }
                return
            }
            let registered = state.withLock { state -> Bool in
                if state.stopped { return false }
                state.accepted += 1
                state.openConnections.insert(fd)
                return true
            }
            guard registered else {
                close(fd)
                return
            }
            guard let thread = try? CurlThread.start(stackSize: 256 * 1024, { [self] in serve(fd) }) else {
                state.withLock { _ = $0.openConnections.remove(fd) }
                close(fd)
                continue
            }
            state.withLock { $0.connectionThreads.append(thread) }
        }
    }

    private func serve(_ fd: Int32) {
        defer {
            // Deregister before closing so that stop() never shuts down a reused descriptor.
            state.withLock { _ = $0.openConnections.remove(fd) }
            close(fd)
        }
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            // Read until a complete request head is buffered.
            var headEnd = Self.endOfHead(in: buffer)
            while headEnd == nil {
                let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if count <= 0 { return }
                buffer.append(contentsOf: chunk[0..<count])
                // Not HTTP (a TLS ClientHello starts with 0x16): answer like nginx does.
                if let first = buffer.first, !(UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(first) {
                    sendAll(fd, Array("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8))
                    return
                }
                if buffer.count > 64 * 1024 { return }
                headEnd = Self.endOfHead(in: buffer)
            }
            guard let end = headEnd else { return }
            let head = String(decoding: buffer[0..<end], as: UTF8.self)
            buffer.removeFirst(end + 4)
            let lines = head.split(separator: "\r\n", omittingEmptySubsequences: false)
            let requestLine = lines.first?.split(separator: " ") ?? []
            let path = requestLine.count >= 2 ? String(requestLine[1]) : "/"
            var headers: [String: String] = [:]
            for line in lines.dropFirst() {
                guard let colon = line.firstIndex(of: ":") else { continue }
                let name = line[..<colon].lowercased()
                let value = line[line.index(after: colon)...].trimmingPrefix(" ")
                headers[name] = String(value)
            }
            // Probes are GETs without a body; skip one if a client sends it anyway.
            let bodyLength = Int(headers["content-length"] ?? "0") ?? 0
            while buffer.count < bodyLength {
                let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if count <= 0 { return }
                buffer.append(contentsOf: chunk[0..<count])
            }
            buffer.removeFirst(bodyLength)

            let route = state.withLock { state -> Route in
                state.requestsByPath[path, default: 0] += 1
                state.lastHeaders[path] = headers
                return state.routes[path] ?? Route(status: 404, body: Array("not found".utf8))
            }
            if route.hang {
                // Read (and ignore) until the client gives up or stop() cuts the connection.
                while chunk.withUnsafeMutableBytes({ recv(fd, $0.baseAddress, $0.count, 0) }) > 0 {}
                return
            }
            if route.drop { return }
            if route.delay > .zero && !sleepUnlessStopped(route.delay) { return }
            var response = "HTTP/1.1 \(route.status) \(Self.reasonPhrase(route.status))\r\n"
            response += "Content-Length: \(route.body.count)\r\n"
            for (name, value) in route.headers { response += "\(name): \(value)\r\n" }
            let closeAfter = route.close || headers["connection"]?.lowercased() == "close"
            if closeAfter { response += "Connection: close\r\n" }
            response += "\r\n"
            guard sendAll(fd, Array(response.utf8) + route.body), !closeAfter else { return }
        }
    }

    /// Sleeps in short steps so that stop() is never held up by a long delay. False if stopped.
    private func sleepUnlessStopped(_ duration: Duration) -> Bool {
        let deadline = ContinuousClock.now + duration
        while ContinuousClock.now < deadline {
            if state.withLock({ $0.stopped }) { return false }
            usleep(2_000)
        }
        return true
    }

    @discardableResult
    private func sendAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes {
                send(fd, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            }
            if sent <= 0 { return false }
            offset += sent
        }
        return true
    }

    private static func endOfHead(in buffer: [UInt8]) -> Int? {
        guard buffer.count >= 4 else { return nil }
        for index in 0...(buffer.count - 4)
        where buffer[index] == 13 && buffer[index + 1] == 10 && buffer[index + 2] == 13 && buffer[index + 3] == 10 {
            return index
        }
        return nil
    }

    private static func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 302: "Found"
        case 404: "Not Found"
        case 500: "Internal Server Error"
        default: "Status"
        }
    }
}

/// Why the test server could not start.
enum TestServerError: Error {
    case socket(Int32)
    case thread
}

/// A loopback port with nothing listening: bound by the kernel's choice, then closed.
func closedLoopbackPort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    _ = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}
