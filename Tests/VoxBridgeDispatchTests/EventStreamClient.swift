#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Reads `GET /v1/fleet/events` over a plain loopback socket: the status and headers, then one
/// server-sent event at a time, undoing HTTP/1.1 chunked framing (no HTTP client library here
/// hands out a body that never ends piece by piece).
final class EventStreamClient {
    /// One `event:` block: its fields as sent.
    struct Event {
        var id: String?
        var type: String?
        var data: String
        var json: [String: Any] { VoxBridgeDispatchTests.json(Data(data.utf8)) }
    }

    let statusCode: Int
    let headers: [String: String]
    private let descriptor: Int32
    private var raw: [UInt8] = []
    private var body: [UInt8] = []
    private var chunked = false
    private(set) var ended = false

    /// Connects, sends the request and reads the head; every read gives up after `timeoutSeconds`.
    init(port: Int, token: String? = nil, method: String = "GET", timeoutSeconds: Int = 5) throws {
        let socketDescriptor = try RawHTTPConnection.connectedSocket(port: port, timeoutSeconds: timeoutSeconds)
        descriptor = socketDescriptor
        let authorization = token.map { "Authorization: Bearer \($0)\r\n" } ?? ""
        let request = Array("\(method) /v1/fleet/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\(authorization)\r\n".utf8)
        _ = request.withUnsafeBytes { write(socketDescriptor, $0.baseAddress, $0.count) }

        var head: [UInt8] = []
        var separator: Range<Int>?
        let marker = Array("\r\n\r\n".utf8)
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while separator == nil {
            let count = read(socketDescriptor, &buffer, buffer.count)
            guard count > 0 else { close(socketDescriptor); throw RawHTTPError.read }
            head += buffer[0..<count]
            if head.count >= 4 {
                separator = (0...(head.count - 4)).first { Array(head[$0..<$0 + 4]) == marker }.map { $0..<$0 + 4 }
            }
        }
        let lines = String(decoding: head[..<separator!.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
        statusCode = Int(lines[0].split(separator: " ")[1]) ?? 0
        var fields: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        headers = fields
        chunked = fields["transfer-encoding"]?.lowercased() == "chunked"
        raw = Array(head[separator!.upperBound...])
    }

    deinit { close(descriptor) }

    /// Closes the connection now (a page that went away).
    func disconnect() { shutdown(descriptor, Int32(SHUT_RDWR)) }

    /// The next `fleet` or other event; `nil` when the stream ended or stayed silent past the timeout.
    func next() -> Event? {
        while true {
            if let end = Self.find(Array("\n\n".utf8), in: body) {
                let block = String(decoding: body[..<end], as: UTF8.self)
                body.removeFirst(end + 2)
                var event = Event(data: "")
                var data: [String] = []
                for line in block.split(separator: "\n", omittingEmptySubsequences: false) {
                    if line.hasPrefix("id:") { event.id = line.dropFirst(3).trimmingCharacters(in: .whitespaces) }
                    if line.hasPrefix("event:") { event.type = line.dropFirst(6).trimmingCharacters(in: .whitespaces) }
                    if line.hasPrefix("data:") { data.append(String(line.dropFirst(5)).trimmingCharacters(in: .whitespaces)) }
                }
                if data.isEmpty { continue }  // `retry:` and comments
                event.data = data.joined(separator: "\n")
                return event
            }
            guard !ended, readMore() else { return nil }
        }
    }

    /// Reads until the stream ends (terminating chunk or closed socket); whether it did in time.
    func readsToEnd() -> Bool {
        while !ended { if !readMore() { return ended } }
        return true
    }

    /// Moves framed bytes into `body`; `false` on timeout or close.
    private func readMore() -> Bool {
        if unframe() { return true }
        var buffer = [UInt8](repeating: 0, count: 65_536)
        let count = read(descriptor, &buffer, buffer.count)
        if count == 0 { ended = true; return false }
        guard count > 0 else { return false }
        raw += buffer[0..<count]
        _ = unframe()
        return true
    }

    /// Takes whole chunks out of `raw`; whether any was taken.
    private func unframe() -> Bool {
        guard chunked else {
            let moved = !raw.isEmpty
            body += raw
            raw = []
            return moved
        }
        var moved = false
        while let lineEnd = Self.find(Array("\r\n".utf8), in: raw) {
            let sizeText = String(decoding: raw[..<lineEnd], as: UTF8.self).split(separator: ";").first ?? ""
            guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16) else { return moved }
            if size == 0 {
                ended = true
                raw = []
                return true
            }
            guard raw.count >= lineEnd + 2 + size + 2 else { return moved }
            body += raw[(lineEnd + 2)..<(lineEnd + 2 + size)]
            raw.removeFirst(lineEnd + 2 + size + 2)
            moved = true
        }
        return moved
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        return (0...(haystack.count - needle.count)).first { haystack[$0] == needle[0] && Array(haystack[$0..<$0 + needle.count]) == needle }
    }
}
