import NIOCore

/// Spaces the listening socket's accepts: one batch of new connections (at most
/// ``HTTPConnectionConfiguration/acceptBatch``) per ``HTTPConnectionConfiguration/acceptInterval``,
/// which bounds how long a flood of new connections can keep an event loop from the connections
/// already open.
///
/// Why: a SwiftNIO event loop runs every task queued for it before it polls its sockets again,
/// and each accepted connection queues work on a loop (its registration, its pipeline, its
/// request task, later its timeout and close). Accepting as fast as a flood arrived kept a loop
/// running that work for 20–90 ms at a time while a caller's pick, already readable on the same
/// loop, waited (docs/SECURITY.md, "Why accepts are spaced"). With a pause between batches the
/// loops poll their sockets between them, and what new connections can take of the service's
/// time is bounded; connections not yet accepted wait in the kernel's queue.
///
/// A read asked for at least an interval after the last one goes ahead at once, so a service
/// that accepts a connection now and then never waits: only back-to-back batches are spaced.
///
/// It sits first in the server channel's pipeline, next to the socket, so every read passes it:
/// NIO's automatic read after each batch and the reads of the handlers behind it (NIO's accept
/// back-off, the async channel's back-pressure). Used on that channel's event loop only.
public final class AcceptPacer: ChannelOutboundHandler, RemovableChannelHandler {
    /// Reads only: no data passes this handler.
    public typealias OutboundIn = Never

    private let interval: TimeAmount
    /// When the last read was passed on; `nil` before the first.
    private var lastRead: NIODeadline?
    /// The read waiting for the interval to pass; one covers every read asked for meanwhile.
    private var pending: Scheduled<Void>?

    /// A pacer passing on at most one read per `interval`.
    public init(interval: TimeAmount) {
        self.interval = interval
    }

    /// Passes the read on at once, or at the end of the interval since the last one.
    public func read(context: ChannelHandlerContext) {
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

    /// A read held back is passed on at once: NIO asks for no other read while one is pending,
    /// so a dropped one would stop the server accepting for good. (On a closed channel the read
    /// does nothing.)
    public func handlerRemoved(context: ChannelHandlerContext) {
        guard let pending else { return }
        pending.cancel()
        self.pending = nil
        context.read()
    }

    private func passOn(context: ChannelHandlerContext) {
        lastRead = context.eventLoop.now
        context.read()
    }
}

// Touched only on its channel's event loop.
@available(*, unavailable)
extension AcceptPacer: Sendable {}

extension AcceptPacer {
    /// Spaces the accepts of a listening `channel` as `configuration` says: sets its batch and
    /// puts a pacer first in its pipeline, on the channel's own loop, where its synchronous
    /// options and pipeline live.
    public static func install(on channel: any Channel, configuration: HTTPConnectionConfiguration) async throws {
        // A batch of 0 (NIO's maxMessagesPerRead on the listening socket) crashes at the first accept.
        precondition(configuration.acceptBatch >= 1, "a batch of accepts takes at least one connection")
        try await channel.eventLoop.submit {
            try channel.syncOptions?.setOption(ChannelOptions.maxMessagesPerRead, value: configuration.acceptBatch)
            try channel.pipeline.syncOperations.addHandler(AcceptPacer(interval: configuration.acceptInterval), position: .first)
        }.get()
    }
}
