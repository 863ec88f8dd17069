import Foundation

/// A stand-in for a proxy in front of a dead dispatcher instance: on 127.0.0.1, answers every
/// request `502 Bad Gateway` (no JSON body) and closes the connection. Its accept loop runs on
/// its own thread until ``stop()``.
final class BadGatewayServer: Sendable {
    let port: Int
    private let descriptor: Int32
    private let done = DispatchSemaphore(value: 0)

    init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(descriptor, 64) == 0 else {
            close(descriptor)
            throw HarnessError("cannot listen: errno \(errno)")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        self.descriptor = descriptor
        port = Int(UInt16(bigEndian: address.sin_port))
        let done = self.done
        Thread.detachNewThread {
            // accept() fails once stop() shuts the listening socket down: the loop ends then.
            while true {
                let connection = accept(descriptor, nil, nil)
                guard connection >= 0 else { break }
                var buffer = [UInt8](repeating: 0, count: 65_536)
                _ = read(connection, &buffer, buffer.count)
                let answer = Array("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8)
                _ = answer.withUnsafeBytes { write(connection, $0.baseAddress, $0.count) }
                close(connection)
            }
            done.signal()
        }
    }

    var url: String { "http://127.0.0.1:\(port)" }

    /// Ends the accept loop (bounded: at most 5 s) and closes the socket.
    func stop() {
        shutdown(descriptor, Int32(SHUT_RDWR))
        _ = done.wait(timeout: .now() + 5)
        close(descriptor)
    }
}
