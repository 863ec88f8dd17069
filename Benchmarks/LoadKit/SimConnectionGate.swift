import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import Synchronization

/// Wraps a simulated server's child channel so that a restart can cut every connection and the
/// server answers nothing while it is down.
///
/// A connection accepted while the server is down is closed at once, before any byte is read:
/// a client sees its request end without an answer (the socket stays the sim's, so it cannot
/// refuse the connection itself). Every connection is registered, so ``SimConnectionBook/closeAll()``
/// can drop them, calls and WebSockets alike, as a stopped service does.
struct SimConnectionGate<Base: ServerChildChannel>: ServerChildChannel {
    /// The wrapped channel's value and whether the connection is refused.
    struct Value: ServerChildChannelValue {
        let base: Base.Value
        let refused: Bool
        var channel: any Channel { base.channel }
    }

    let base: Base
    let book: SimConnectionBook
    /// Whether the server is in a restart window now.
    let isDown: @Sendable () -> Bool

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        // Registered before the check: a restart that begins in between still closes it.
        book.register(channel)
        let refused = isDown()
        // Never a failed future: the server's accept loop would end with it.
        return base.setup(channel: channel, logger: logger).map { Value(base: $0, refused: refused) }
    }

    func handle(value: Value, logger: Logger) async {
        if value.refused {
            value.channel.close(promise: nil)
            return
        }
        await base.handle(value: value.base, logger: logger)
    }
}

/// The open connections of one simulated server, so that a restart can close them all.
final class SimConnectionBook: Sendable {
    private let channels = Mutex<[ObjectIdentifier: any Channel]>([:])

    /// Keeps `channel` until it closes.
    func register(_ channel: any Channel) {
        let key = ObjectIdentifier(channel)
        channels.withLock { $0[key] = channel }
        channel.closeFuture.whenComplete { [self] _ in _ = channels.withLock { $0.removeValue(forKey: key) } }
    }

    /// Closes every open connection.
    func closeAll() {
        let open = channels.withLock { Array($0.values) }
        for channel in open { channel.close(promise: nil) }
    }
}
