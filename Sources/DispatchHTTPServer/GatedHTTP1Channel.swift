import Hummingbird
import HummingbirdCore
import Logging
import NIOCore

/// Hummingbird's HTTP/1.1 connection (`HTTP1Channel`) behind a connection limit
/// (``ConnectionGate``), with the request and idle timeouts (``ConnectionTimeoutHandler``) and
/// the service's own handlers in its pipeline.
///
/// A connection's pipeline, from the socket in: ``ConnectionTimeoutHandler/BytesWatcher``, the
/// HTTP/1 codec, ``ConnectionTimeoutHandler``, the handlers `serviceHandlers` makes, then
/// Hummingbird's state handler and its router.
///
/// Why a child channel of our own rather than `.http1(configuration:)`: a connection past the
/// limit is closed before any pipeline or request task is built for it, so refusing a flood
/// costs little; and the bytes watcher has to sit in front of the codec, where
/// `additionalChannelHandlers` cannot reach.
public struct GatedHTTP1Channel: ServerChildChannel {
    /// Hummingbird's HTTP/1 channel value.
    public typealias Value = HTTP1Channel.Value

    /// Why a connection's setup failed: the gate refused it (it is closed already).
    struct Refused: Error {}

    /// Hummingbird's responder (the router behind the application's middleware).
    let responder: HTTPChannelHandler.Responder
    /// The timeouts for every connection.
    let configuration: HTTPConnectionConfiguration
    /// The connection limit, shared by every connection.
    let gate: ConnectionGate
    /// Where timeouts are counted.
    let metrics: any ConnectionMetrics
    /// Makes one connection's own handlers (after the timeouts, before Hummingbird's), on that
    /// connection's event loop.
    let serviceHandlers: @Sendable () -> [any RemovableChannelHandler]

    /// A channel for every connection of one server.
    public init(
        responder: @escaping HTTPChannelHandler.Responder, configuration: HTTPConnectionConfiguration,
        gate: ConnectionGate, metrics: any ConnectionMetrics,
        serviceHandlers: @escaping @Sendable () -> [any RemovableChannelHandler] = { [] }
    ) {
        self.responder = responder
        self.configuration = configuration
        self.gate = gate
        self.metrics = metrics
        self.serviceHandlers = serviceHandlers
    }

    /// Admits the connection through the gate and builds its pipeline.
    public func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        guard gate.admit(channel) else {
            channel.close(promise: nil)
            return channel.eventLoop.makeFailedFuture(Refused())
        }
        channel.closeFuture.whenComplete { [gate] _ in gate.release(channel) }
        let timeouts = ConnectionTimeoutHandler(configuration: configuration, metrics: metrics)
        do {
            try channel.pipeline.syncOperations.addHandler(ConnectionTimeoutHandler.BytesWatcher(reportingTo: timeouts), position: .first)
        } catch {
            channel.close(promise: nil)
            return channel.eventLoop.makeFailedFuture(error)
        }
        // Setup runs on the connection's event loop, where the handlers are created and added.
        let boundTimeouts = NIOLoopBound(timeouts, eventLoop: channel.eventLoop)
        let http1 = HTTP1Channel(
            responder: responder,
            configuration: .init(additionalChannelHandlers: [boundTimeouts.value as any RemovableChannelHandler] + serviceHandlers()))
        return http1.setup(channel: channel, logger: logger)
    }

    /// Serves the connection's requests.
    public func handle(value: Value, logger: Logger) async {
        await HTTP1Channel(responder: responder).handle(value: value, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// Connections as ``GatedHTTP1Channel`` builds them.
    public static func gatedHTTP1(
        configuration: HTTPConnectionConfiguration, gate: ConnectionGate, metrics: any ConnectionMetrics,
        serviceHandlers: @escaping @Sendable () -> [any RemovableChannelHandler] = { [] }
    ) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in
            GatedHTTP1Channel(
                responder: responder, configuration: configuration, gate: gate, metrics: metrics, serviceHandlers: serviceHandlers)
        }
    }
}
