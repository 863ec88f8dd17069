import Foundation

/// A stand-in for a proxy in front of a dead dispatcher instance: on 127.0.0.1, answers every
/// request `502 Bad Gateway` (no JSON body) and closes the connection. Its accept loop runs on
/// its own thread until ``stop()``.
final class BadGatewayServer: Sendable {
    let port: Int
    private let descriptor: Int32
    private let done = DispatchSemaphore(value: 0)

    init() throws {
        let (descriptor, port) = try SilentListener.listeningSocket()
        self.descriptor = descriptor
        self.port = port
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
