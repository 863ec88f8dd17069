import NIOCore

/// Spaces the listening socket's accepts: one batch of new connections (at most
/// ``HTTPConnectionConfiguration/acceptBatch``) per ``HTTPConnectionConfiguration/acceptInterval``,
/// so that a flood of new connections cannot keep an event loop from the connections already open.
///
/// Why: a SwiftNIO event loop runs every task queued for it before it polls its sockets again,
/// and each accepted connection queues work on a loop (its registration, its pipeline, its
/// request task, later its timeout and close). Accepting as fast as a flood arrived kept a loop
/// running that work for 20–90 ms at a time while a caller's pick, already readable on the same
/// loop, waited (docs/SECURITY.md, "Slow, idle and flooding clients"). With a pause between
/// batches the loops poll their sockets between them, and what new connections can take of
/// the service's time is bounded; connections not yet accepted wait in the kernel's queue.
///
/// A read asked for at least an interval after the last one goes ahead at once, so a service
/// that accepts a connection now and then never waits: only back-to-back batches are spaced.
///
/// It sits in the server channel's pipeline and sees only its outbound `read`s (NIO's automatic
/// read after each batch of accepts); it is used on that channel's event loop only.
final class AcceptPacer: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = Never

    private let interval: TimeAmount
    /// When the last read was passed on; `nil` before the first.
    private var lastRead: NIODeadline?
    /// The read waiting for the interval to pass; one covers every read asked for meanwhile.
    private var pending: Scheduled<Void>?

    /// A pacer passing on at most one read per `interval`.
    init(interval: TimeAmount) {
        self.interval = interval
    }

    func read(context: ChannelHandlerContext) {
        guard pending == nil else { return }
        guard let lastRead, context.eventLoop.now < lastRead + interval else {
            passOn(context: context)
            return
        }
        pending = context.eventLoop.assumeIsolated().scheduleTask(deadline: lastRead + interval) { [self] in
            pending = nil
            passOn(context: context)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        pending?.cancel()
        pending = nil
    }

    private func passOn(context: ChannelHandlerContext) {
        lastRead = context.eventLoop.now
        context.read()
    }
}
