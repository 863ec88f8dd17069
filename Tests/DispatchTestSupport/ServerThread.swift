#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A plain pthread for ``TestHTTPServer``'s accept loop and connections: a blocked `accept` or
/// `recv` must not hold one of the few threads of Swift concurrency, and a small stack lets a
/// test open hundreds of connections.
struct ServerThread: Sendable {
    /// The pthread, for joining.
    let thread: pthread_t

    /// Starts a thread with a stack of `stackSize` bytes that runs `body` once.
    /// - Throws: ``TestServerError/thread`` when the system refuses.
    static func start(stackSize: Int = 256 * 1024, _ body: @escaping @Sendable () -> Void) throws -> ServerThread {
        final class Box {
            let body: @Sendable () -> Void
            init(_ body: @escaping @Sendable () -> Void) { self.body = body }
        }
        let context = Unmanaged.passRetained(Box(body)).toOpaque()
        #if canImport(Glibc)
        var thread = pthread_t()
        #else
        var thread: pthread_t?
        #endif
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setstacksize(&attributes, stackSize)
        let status = pthread_create(&thread, &attributes, { raw in
            guard let raw else { return nil }
            let box = Unmanaged<Box>.fromOpaque(raw).takeRetainedValue()
            box.body()
            return nil
        }, context)
        guard status == 0 else {
            Unmanaged<Box>.fromOpaque(context).release()
            throw TestServerError.thread
        }
        #if canImport(Glibc)
        return ServerThread(thread: thread)
        #else
        return ServerThread(thread: thread!)
        #endif
    }

    /// Waits for the thread to end. Joining itself would deadlock, so from the thread itself (the
    /// server released there) it detaches instead.
    func join() {
        if pthread_equal(pthread_self(), thread) != 0 {
            pthread_detach(thread)
        } else {
            pthread_join(thread, nil)
        }
    }
}
