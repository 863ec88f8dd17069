#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// TCP sockets on 127.0.0.1 at a port the kernel chooses: the tests' listeners, and ports where
/// nothing listens.
public enum LoopbackSocket {
    /// A socket listening on 127.0.0.1 with `backlog`, and its port. The caller closes it.
    public static func listening(backlog: Int32 = 1024) throws -> (descriptor: Int32, port: Int) {
        let (descriptor, port) = try bound(reuseAddress: true)
        guard listen(descriptor, backlog) == 0 else {
            let code = errno
            close(descriptor)
            throw TestServerError.socket(code)
        }
        return (descriptor, port)
    }

    /// A loopback port no one listens on now: bound by the kernel's choice, then closed.
    public static func freePort() throws -> Int {
        let (descriptor, port) = try bound(reuseAddress: false)
        close(descriptor)
        return port
    }

    /// A TCP socket bound to 127.0.0.1 port 0, and the port it got.
    private static func bound(reuseAddress: Bool) throws -> (descriptor: Int32, port: Int) {
        // Close-on-exec: the tests start child processes, which must not inherit it.
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw TestServerError.socket(errno) }
        if reuseAddress {
            var one: Int32 = 1
            setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = bound == 0 ? withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        } : -1
        guard named == 0 else {
            let code = errno
            close(descriptor)
            throw TestServerError.socket(code)
        }
        return (descriptor, Int(UInt16(bigEndian: address.sin_port)))
    }
}
