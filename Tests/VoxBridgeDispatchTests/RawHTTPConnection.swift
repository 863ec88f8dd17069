#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A plain loopback TCP connection that sends bytes exactly as given (pipelined requests, odd
/// headers) and reads answers back, which an HTTP client library would not allow.
final class RawHTTPConnection {
    /// One answer as read off the wire.
    struct Answer {
        var statusLine: String
        var headers: [(String, String)]
        var body: String

        func header(_ name: String) -> String? {
            headers.first { $0.0.lowercased() == name.lowercased() }?.1
        }
    }

    private let descriptor: Int32
    private var received: [UInt8] = []

    /// Connects to 127.0.0.1:`port`; every read gives up after `timeoutSeconds`.
    init(port: Int, timeoutSeconds: Int = 5) throws {
        descriptor = try Self.connectedSocket(port: port, timeoutSeconds: timeoutSeconds)
    }

    /// A connected socket to 127.0.0.1:`port` whose reads give up after `timeoutSeconds` (also
    /// ``EventStreamClient``'s).
    static func connectedSocket(port: Int, timeoutSeconds: Int) throws -> Int32 {
        #if canImport(Glibc)
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let descriptor = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard descriptor >= 0 else { throw RawHTTPError.socket }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            #if canImport(Glibc)
            _ = Glibc.close(descriptor)
            #else
            _ = Darwin.close(descriptor)
            #endif
            throw RawHTTPError.connect
        }
        return descriptor
    }

    private var isClosed = false

    /// Closes the connection now rather than when it goes away.
    func close() {
        guard !isClosed else { return }
        isClosed = true
        #if canImport(Glibc)
        _ = Glibc.close(descriptor)
        #else
        _ = Darwin.close(descriptor)
        #endif
    }

    deinit { close() }

    /// Sends `text` in one write.
    func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        let sent = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        guard sent == bytes.count else { throw RawHTTPError.write }
    }

    /// Reads up to `count` answers (each with a Content-Length body); fewer when the server
    /// closes the connection or stays silent past the timeout.
    func answers(_ count: Int) -> [Answer] {
        var answers: [Answer] = []
        while answers.count < count {
            if let answer = takeAnswer() {
                answers.append(answer)
                continue
            }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let read = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if read <= 0 { break }
            received += chunk[0..<read]
        }
        return answers
    }

    /// Whatever arrives next, as text; `nil` at end of stream or after the timeout.
    func receive() -> String? {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let read = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
        guard read > 0 else { return nil }
        return String(decoding: chunk[0..<read], as: UTF8.self)
    }

    /// Whether the server has closed the connection (a read returns end of stream).
    func isClosedByServer() -> Bool {
        var byte: UInt8 = 0
        return recv(descriptor, &byte, 1, 0) == 0
    }

    /// What ``poll(timeoutMilliseconds:)`` saw.
    enum PollResult {
        /// The server closed the connection (end of stream or reset).
        case closed
        /// Bytes arrived; they are kept for ``answers(_:)``.
        case data
        /// Nothing within the time given.
        case nothing
    }

    /// Waits at most `timeoutMilliseconds` for the connection to have something to read.
    func poll(timeoutMilliseconds: Int32) -> PollResult {
        var entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        #if canImport(Glibc)
        let ready = Glibc.poll(&entry, 1, timeoutMilliseconds)
        #else
        let ready = Darwin.poll(&entry, 1, timeoutMilliseconds)
        #endif
        guard ready > 0 else { return .nothing }
        var chunk = [UInt8](repeating: 0, count: 65536)
        let read = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
        if read > 0 {
            received += chunk[0..<read]
            return .data
        }
        return read < 0 && errno == EAGAIN ? .nothing : .closed
    }

    /// Removes one whole answer from the received bytes, if there is one.
    private func takeAnswer() -> Answer? {
        let separator = Array("\r\n\r\n".utf8)
        guard let end = (0..<max(0, received.count - 3)).first(where: { Array(received[$0..<$0 + 4]) == separator }) else { return nil }
        let lines = String(decoding: received[0..<end], as: UTF8.self).components(separatedBy: "\r\n")
        let headers = lines.dropFirst().compactMap { line -> (String, String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        let length = Int(headers.first { $0.0.lowercased() == "content-length" }?.1 ?? "0") ?? 0
        guard received.count >= end + 4 + length else { return nil }
        let body = String(decoding: received[(end + 4)..<(end + 4 + length)], as: UTF8.self)
        received.removeFirst(end + 4 + length)
        return Answer(statusLine: lines[0], headers: headers, body: body)
    }
}

/// Why a raw connection failed.
enum RawHTTPError: Error {
    case socket, connect, write, read
}
