#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The dedicated OS thread that runs ``CurlLoop``.
///
/// A plain pthread rather than a task: `curl_multi_poll` blocks, and a blocked task would hold
/// one of the few cooperative threads (two on this machine) for the prober's whole life.
struct CurlThread: Sendable {
    /// The pthread, for joining.
    let thread: pthread_t

    /// Starts a thread that runs `body` once.
    /// - Throws: ``ProberSetupError/threadStartFailed(_:)`` when the system refuses.
    static func start(_ body: @escaping @Sendable () -> Void) throws(ProberSetupError) -> CurlThread {
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
        let status = pthread_create(&thread, nil, { raw in
            guard let raw else { return nil }
            let box = Unmanaged<Box>.fromOpaque(raw).takeRetainedValue()
            box.body()
            return nil
        }, context)
        guard status == 0 else {
            Unmanaged<Box>.fromOpaque(context).release()
            throw .threadStartFailed(status)
        }
        #if canImport(Glibc)
        return CurlThread(thread: thread)
        #else
        return CurlThread(thread: thread!)
        #endif
    }

    /// Waits for the thread to end. Joining itself would deadlock, so from the thread itself it
    /// detaches instead.
    func join() {
        if pthread_equal(pthread_self(), thread) != 0 {
            pthread_detach(thread)
        } else {
            pthread_join(thread, nil)
        }
    }
}
