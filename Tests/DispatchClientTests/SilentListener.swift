import DispatchTestSupport
import Foundation

/// A TCP listener on 127.0.0.1 that never accepts: connections complete in the kernel's
/// backlog and no answer ever comes, like a dispatcher instance that hangs.
final class SilentListener: Sendable {
    let port: Int
    private let descriptor: Int32

    init() throws {
        (descriptor, port) = try LoopbackSocket.listening(backlog: 64)
    }

    var url: String { "http://127.0.0.1:\(port)" }

    deinit { close(descriptor) }

    /// A loopback URL where nothing listens: a port just bound and closed again.
    static func closedPortURL() throws -> String {
        "http://127.0.0.1:\(try LoopbackSocket.freePort())"
    }
}
