import DispatchCluster
import DispatchHTTPServer
import FleetPicker
import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Answers `POST /v1/pick` in the channel pipeline when the answer is ready at once, and hands
/// every other request, unchanged and in order, to Hummingbird's router.
///
/// Why it exists: a pick with fresh readings takes about a microsecond to decide, while the way
/// through Hummingbird's responder (request task, async channel bridge, router, request and
/// response objects) costs far more; answering here, on the event loop that read the request,
/// raises pick throughput by about 40 % (docs/BENCHMARKS.md, "Throughput against nginx").
///
/// It stays equivalent to the route because it only ever answers the route's success case, with
/// the route's own checks and rendering, and hands everything else over:
/// - only `POST /v1/pick` (exact path) with no `Connection: close` and no `Expect`, whose body
///   fits the route's limit;
/// - only when no earlier request on this connection still waits for the router, so pipelined
///   answers keep their order, and while the connection can take writes (otherwise the route,
///   which waits for writability, answers: a client that never reads cannot grow our buffers);
/// - never after the connection started to close: once a request with `Connection: close` or
///   an error went to the router, or graceful shutdown began (`ChannelShouldQuiesceEvent`),
///   everything goes to the router, which answers what it has and closes;
/// - only when ``AccessControl`` accepts the token, ``PickController/excludedServers(in:)``
///   accepts the body, and ``FleetCoordinator/pickWithoutWaiting(excluding:)`` picks a server;
/// - in a cluster, only while this instance decides (it leads, or decides alone), confirmed
///   after the decision as the route does; a follower's picks go to the route, which forwards.
///
/// A pick that must wait for probes, and every error (401, 400, 413, 503), go to the route,
/// which answers them as it always has. One handler per connection, on that connection's loop.
///
/// Hummingbird's `HTTPConnectionStateHandler` sits after this one and never sees the picks
/// answered here: for graceful shutdown that is right (a pick held here is handed over before
/// the quiesce event passes on, so it is answered), but it means Hummingbird's idle timeout
/// would not count these picks as activity, so none is configured. ``ConnectionTimeoutHandler``
/// sits before this one and does: it sees these answers go out (`GatedHTTP1Channel`).
final class PickFastPathHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// A pick whose head has arrived and whose body is being read.
    private struct HeldPick {
        var head: HTTPRequest
        var body: ByteBuffer
    }

    private let runtime: FleetRuntime
    private var held: HeldPick?
    /// Requests handed to the router whose answers are not yet written (each answer ends with
    /// an `.end` part on its way out).
    private var requestsAwaitingTheRouter = 0
    /// Whether answers were written during this read and want a flush when it completes.
    private var unflushedAnswers = false
    /// Set once the connection is closing (see the type's notes): no more answers here.
    private var handingEverythingOver = false
    private var date = HTTPDateHeader()

    /// A handler for one connection.
    init(_ runtime: FleetRuntime) {
        self.runtime = runtime
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            if !handingEverythingOver, requestsAwaitingTheRouter == 0, Self.mayAnswer(head) {
                held = HeldPick(head: head, body: ByteBuffer())
            } else {
                noteHandedOver(head)
                context.fireChannelRead(data)
            }
        case .body(var chunk):
            guard var pick = held else {
                context.fireChannelRead(data)
                return
            }
            guard pick.body.readableBytes + chunk.readableBytes <= DispatchConfiguration.maximumRequestBodyBytes else {
                // Too big for the route as well: it answers 413.
                held = nil
                handOver(pick, context: context)
                context.fireChannelRead(data)
                return
            }
            held = nil  // so the buffer below is uniquely referenced while it grows
            pick.body.writeBuffer(&chunk)
            held = pick
        case .end:
            guard let pick = held else {
                context.fireChannelRead(data)
                return
            }
            held = nil
            if context.channel.isWritable, let (body, fencing) = answer(pick, allocator: context.channel.allocator) {
                var head = HTTPResponse(status: .ok, headerFields: [
                    .contentType: PickController.answerContentType,
                    .contentLength: String(body.readableBytes),
                    .date: date.current(),
                ])
                if let fencing { head.headerFields[ClusterForwarder.fencingHeader] = String(fencing) }
                if let cluster = runtime.cluster { head.headerFields[ClusterForwarder.deciderHeader] = cluster.selfURL }
                context.write(wrapOutboundOut(.head(head)), promise: nil)
                context.write(wrapOutboundOut(.body(body)), promise: nil)
                context.write(wrapOutboundOut(.end(nil)), promise: nil)
                unflushedAnswers = true
            } else {
                handOver(pick, context: context)
                context.fireChannelRead(data)
            }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        // One flush for every answer of this read, as NIO's own servers do.
        if unflushedAnswers {
            unflushedAnswers = false
            context.flush()
        }
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent {
            // Graceful shutdown: a pick still being read goes to the router first, so that
            // Hummingbird counts it as in progress and answers it before closing.
            handingEverythingOver = true
            if let pick = held {
                held = nil
                handOver(pick, context: context)
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A parse error: the router answers 400 and closes. It sees the request as it would
        // have without this handler: what had arrived of it, then the error.
        handingEverythingOver = true
        if let pick = held {
            held = nil
            handOver(pick, context: context)
        }
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        held = nil
        context.fireChannelInactive()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data), requestsAwaitingTheRouter > 0 {
            requestsAwaitingTheRouter -= 1
        }
        context.write(data, promise: promise)
    }

    /// Counts a request the router will answer; after one that asks to close the connection
    /// (Hummingbird closes once it has answered it), answers nothing more itself.
    private func noteHandedOver(_ head: HTTPRequest) {
        requestsAwaitingTheRouter += 1
        if Self.asksToClose(head) { handingEverythingOver = true }
    }

    /// Whether the request carries `Connection: close` (in any case, among other options).
    static func asksToClose(_ head: HTTPRequest) -> Bool {
        guard let connection = head.headerFields[.connection] else { return false }
        return connection.lowercased().contains("close")
    }

    /// Whether a request with this head is a pick this handler may try to answer.
    static func mayAnswer(_ head: HTTPRequest) -> Bool {
        guard head.method == .post, head.path == "/v1/pick", head.headerFields[.expect] == nil, !asksToClose(head) else { return false }
        if let length = head.headerFields[.contentLength] {
            guard let bytes = Int(length), bytes <= DispatchConfiguration.maximumRequestBodyBytes else { return false }
        }
        return true
    }

    /// The body of the 200 answer to `pick` and the lease term it was decided under, or `nil`
    /// when the route must answer it.
    private func answer(_ pick: HeldPick, allocator: ByteBufferAllocator) -> (ByteBuffer, Int64?)? {
        guard (try? runtime.access.requirePicker(pick.head.headerFields)) != nil,
            let excluded = try? PickController.excludedServers(in: pick.body)
        else { return nil }
        var fencing: Int64? = nil
        if let cluster = runtime.cluster {
            guard case .decide(let term) = cluster.coordinator.route() else { return nil }
            fencing = term
        }
        // `nil` also when the lease ended while deciding: undone; the route sends it where it belongs.
        guard let decision = runtime.pickNow(excluding: excluded, fencing: fencing), case .picked(let chosen) = decision.outcome else { return nil }
        runtime.metrics.recordPickAnsweredInPipeline()
        return (PickController.answerBody(for: chosen, elapsed: decision.elapsed, allocator: allocator), fencing)
    }

    /// Passes a held pick's head and body on to the router, as if this handler were not there.
    private func handOver(_ pick: HeldPick, context: ChannelHandlerContext) {
        noteHandedOver(pick.head)
        context.fireChannelRead(wrapInboundOut(.head(pick.head)))
        if pick.body.readableBytes > 0 {
            context.fireChannelRead(wrapInboundOut(.body(pick.body)))
        }
    }
}

@available(*, unavailable)
extension PickFastPathHandler: Sendable {}
