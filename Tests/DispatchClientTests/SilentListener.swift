import Foundation

/// A TCP listener on 127.0.0.1 that never accepts: connections complete in the kernel's
/// backlog and no answer ever comes, like a dispatcher instance that hangs.
final class SilentListener: Sendable {
    let port: Int
    private let descriptor: Int32

    init() throws {
        (descriptor, port) = try Self.listeningSocket()
    }

    /// A TCP socket listening on 127.0.0.1 on a free port, and the port; shared with
    /// ``BadGatewayServer``, which accepts on it.
    static func listeningSocket() throws -> (descriptor: Int32, port: Int) {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
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
        return (descriptor, Int(UInt16(bigEndian: address.sin_port)))
    }

    var url: String { "http://127.0.0.1:\(port)" }

    deinit { close(descriptor) }

    /// A loopback URL where nothing listens: a port just bound and closed again.
    static func closedPortURL() throws -> String {
        let listener = try SilentListener()
        return listener.url
    }
}
