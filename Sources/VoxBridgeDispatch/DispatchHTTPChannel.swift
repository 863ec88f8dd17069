import Hummingbird
import HummingbirdCore
import Logging
import NIOCore

/// The HTTP/1.1 connections `serve` runs: Hummingbird's `HTTP1Channel`, behind a connection
/// limit (``ConnectionGate``) and with this service's handlers in its pipeline.
///
/// A connection's pipeline, from the socket in:
/// ``ConnectionTimeoutHandler/BytesWatcher``, the HTTP/1 codec, ``ConnectionTimeoutHandler``,
/// ``PickFastPathHandler``, then Hummingbird's state handler and its router.
///
/// Why a child channel of our own rather than `.http1(configuration:)`: a connection past the
/// limit is closed before any pipeline or request task is built for it, so refusing a flood
/// costs little; and the bytes watcher has to sit in front of the codec, where
/// `additionalChannelHandlers` cannot reach.
struct DispatchHTTPChannel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value

    /// Why a connection's setup failed: the gate refused it (it is closed already).
    struct Refused: Error {}

    /// Hummingbird's responder (the router behind the application's middleware).
    let responder: HTTPChannelHandler.Responder
    /// The timeouts for every connection.
    let configuration: HTTPConnectionConfiguration
    /// The connection limit, shared by every connection.
    let gate: ConnectionGate
    /// Where timeouts are counted.
    let metrics: DispatchMetrics
    /// What the fast path needs to answer picks.
    let fastPath: PickFastPathHandler.Dependencies

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        guard gate.admit() else {
            channel.close(promise: nil)
            return channel.eventLoop.makeFailedFuture(Refused())
        }
        channel.closeFuture.whenComplete { [gate] _ in gate.release() }
        let timeouts = ConnectionTimeoutHandler(configuration: configuration, metrics: metrics)
        do {
            try channel.pipeline.syncOperations.addHandler(ConnectionTimeoutHandler.BytesWatcher(reportingTo: timeouts), position: .first)
        } catch {
            channel.close(promise: nil)
            return channel.eventLoop.makeFailedFuture(error)
        }
        // Setup runs on the connection's event loop, where the handlers are created and added.
        let boundTimeouts = NIOLoopBound(timeouts, eventLoop: channel.eventLoop)
        let fastPath = fastPath
        let http1 = HTTP1Channel(
            responder: responder,
            configuration: .init(additionalChannelHandlers: [boundTimeouts.value, PickFastPathHandler(fastPath)]))
        return http1.setup(channel: channel, logger: logger)
    }

    func handle(value: Value, logger: Logger) async {
        await HTTP1Channel(responder: responder).handle(value: value, logger: logger)
    }
}
