#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// A small HTTP/1.1 server on 127.0.0.1 for tests: one thread accepts, one thread serves each
/// connection (keep-alive), answers are configured per path (with a fallback for every other
/// path), and it counts connections and requests. ``stop()`` shuts every socket down and joins
/// every thread, so nothing outlives a test.
public final class TestHTTPServer: Sendable {
    /// How the server answers one path.
    public struct Route: Sendable {
        /// The status code.
        public var status: Int
        /// Header fields written after `Content-Length`.
        public var headers: [(String, String)]
        /// The body.
        public var body: [UInt8]
        /// Wait this long before answering.
        public var delay: Duration
        /// Never answer: keep the connection open and read until the client goes away.
        public var hang: Bool
        /// Close the connection after answering.
        public var close: Bool
        /// Close the connection without writing a byte.
        public var drop: Bool

        /// An answer; by default an empty `200` JSON answer at once, on a connection kept open.
        public init(
            status: Int = 200, headers: [(String, String)] = [("Content-Type", "application/json")], body: [UInt8] = [],
            delay: Duration = .zero, hang: Bool = false, close: Bool = false, drop: Bool = false
        ) {
            self.status = status
            self.headers = headers
            self.body = body
            self.delay = delay
            self.hang = hang
            self.close = close
            self.drop = drop
        }

        /// A 200 JSON answer.
        public static func json(_ text: String) -> Route { Route(body: Array(text.utf8)) }

        /// `404` with a short text body: the default answer to a path without a route.
        public static let notFound = Route(status: 404, body: Array("not found".utf8))

        /// `502 Bad Gateway` without a body, then the connection closed: a proxy in front of a
        /// dead upstream.
        public static let badGateway = Route(status: 502, headers: [], close: true)
    }

    /// The port the kernel chose.
    public let port: Int
    /// `http://127.0.0.1:PORT`.
    public var baseURL: String { "http://127.0.0.1:\(port)" }

    private struct State {
        var routes: [String: Route]
        let fallback: Route
        var accepted = 0
        var requestsByPath: [String: Int] = [:]
        var lastHeaders: [String: [String: String]] = [:]
        var openConnections: Set<Int32> = []
        var connectionThreads: [ServerThread] = []
        var stopped = false
    }

    private let listenFD: Int32
    private let state: Mutex<State>
    private let acceptThread: Mutex<ServerThread?> = Mutex(nil)

    /// Binds 127.0.0.1 port 0 and starts accepting; a path without a route is answered `fallback`.
    /// - Throws: ``TestServerError``.
    public init(routes: [String: Route] = [:], fallback: Route = .notFound) throws {
        state = Mutex(State(routes: routes, fallback: fallback))
        let (fd, port) = try LoopbackSocket.listening(backlog: 1024)
        listenFD = fd
        self.port = port
        guard let thread = try? ServerThread.start({ [self] in acceptLoop() }) else {
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
    public func setRoute(_ path: String, _ route: Route) {
        state.withLock { $0.routes[path] = route }
    }

    /// TCP connections accepted so far.
    public var acceptedConnections: Int { state.withLock { $0.accepted } }

    /// Requests received for `path` so far (the request target as sent).
    public func requestCount(_ path: String) -> Int { state.withLock { $0.requestsByPath[path, default: 0] } }

    /// The headers of the last request for `path`, names lower-cased.
    public func lastHeaders(_ path: String) -> [String: String]? { state.withLock { $0.lastHeaders[path] } }

    /// Stops accepting, cuts every open connection and joins every thread. Idempotent.
    public func stop() {
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
            // Close-on-exec: a child process the test starts must not inherit the connection.
            if fd >= 0 { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
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
            guard let thread = try? ServerThread.start({ [self] in serve(fd) }) else {
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
            // A body (probes send none; a client's pick or release may) is read and ignored.
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
                return state.routes[path] ?? state.fallback
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
        case 502: "Bad Gateway"
        default: "Status"
        }
    }
}
