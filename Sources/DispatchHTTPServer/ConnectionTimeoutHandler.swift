import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Closes connections whose requests arrive too slowly (answering 408 when it still can) and
/// connections left idle too long; the rules are ``ConnectionTimeoutState``'s.
///
/// Where it sits: first of the handlers after the HTTP codec, before the service's own handlers (the pick fast path),
/// so it sees every decoded request part and every answer written, the picks the fast path
/// answers included (they count as activity, which Hummingbird's own idle timeout, sitting
/// after the fast path, would not see). A ``BytesWatcher`` in front of the codec tells it when
/// bytes arrive, because half a request head decodes to nothing and would otherwise look idle.
///
/// What it costs a pick: a few field updates and two reads of the monotonic clock (when the
/// request's first bytes arrive and when its answer ends), on the connection's event loop; no
/// allocation and no lock. Its one timer is rescheduled at most once per the shorter timeout.
final class ConnectionTimeoutHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// Sits in front of the HTTP decoder and reports every read of raw bytes.
    final class BytesWatcher: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = ByteBuffer
        typealias InboundOut = ByteBuffer

        private let owner: ConnectionTimeoutHandler

        /// A watcher reporting to `owner`, which must be in the same pipeline.
        init(reportingTo owner: ConnectionTimeoutHandler) {
            self.owner = owner
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            owner.bytesArrived(eventLoop: context.eventLoop)
            context.fireChannelRead(data)
        }
    }

    private let configuration: HTTPConnectionConfiguration
    private let metrics: any ConnectionMetrics
    /// Set in `handlerAdded`, with the connection's opening time.
    private var state: ConnectionTimeoutState?
    private var timer: Scheduled<Void>?

    /// A handler for one connection.
    init(configuration: HTTPConnectionConfiguration, metrics: any ConnectionMetrics) {
        self.configuration = configuration
        self.metrics = metrics
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let now = context.eventLoop.now
        let state = ConnectionTimeoutState(
            requestTimeout: configuration.requestTimeout, idleTimeout: configuration.idleTimeout, openedAt: now)
        self.state = state
        schedule(at: state.nextCheck(after: now), context: context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            state?.requestHeadArrived()
        case .body:
            break
        case .end:
            state?.requestEnded(at: context.eventLoop.now)
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head):
            if head.status.kind != .informational { state?.answerStarted() }
        case .body:
            break
        case .end:
            state?.answerEnded(at: context.eventLoop.now)
        }
        context.write(data, promise: promise)
    }

    /// Raw bytes arrived (from ``BytesWatcher``).
    func bytesArrived(eventLoop: any EventLoop) {
        state?.bytesArrived(at: eventLoop.now)
    }

    private func schedule(at deadline: NIODeadline, context: ChannelHandlerContext) {
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            timerFired(context: context)
        }
    }

    private func timerFired(context: ChannelHandlerContext) {
        timer = nil
        guard var state else { return }
        let action = state.timerFired(at: context.eventLoop.now)
        self.state = state
        switch action {
        case .checkAgain(let deadline):
            schedule(at: deadline, context: context)
        case .answerRequestTimeoutAndClose:
            metrics.recordRequestTimedOut()
            writeRequestTimeout(context: context)
            context.close(promise: nil)
        case .closeStalledRequest:
            metrics.recordRequestTimedOut()
            context.close(promise: nil)
        case .closeIdle:
            metrics.recordConnectionClosedIdle()
            context.close(promise: nil)
        case .none:
            break
        }
    }

    /// Writes the 408 answer (the API's JSON error) and flushes it; the caller closes at once,
    /// which still lets it go out when the client's receive window has room, and never waits
    /// for a client that does not read.
    private func writeRequestTimeout(context: ChannelHandlerContext) {
        let milliseconds = configuration.requestTimeout.nanoseconds / 1_000_000
        let body = Array(#"{"error":"request_timeout","message":"the request did not arrive whole within \#(milliseconds) ms"}"#.utf8)
        var date = HTTPDateHeader()
        let head = HTTPResponse(status: .requestTimeout, headerFields: [
            .contentType: "application/json; charset=utf-8",
            .contentLength: String(body.count),
            .connection: "close",
            .date: date.current(),
        ])
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(context.channel.allocator.buffer(bytes: body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}

@available(*, unavailable)
extension ConnectionTimeoutHandler: Sendable {}
