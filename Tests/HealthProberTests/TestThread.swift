#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// A joinable OS thread for the test server: blocking `accept`/`recv` must not occupy the
/// cooperative pool that the tests themselves run on.
struct TestThread: Sendable {
    let thread: pthread_t

    /// Starts `body` on a new thread with a small stack (the server may run hundreds of them).
    static func start(_ body: @escaping @Sendable () -> Void) -> TestThread? {
        final class Box {
            let body: @Sendable () -> Void
            init(_ body: @escaping @Sendable () -> Void) { self.body = body }
        }
        let context = Unmanaged.passRetained(Box(body)).toOpaque()
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setstacksize(&attributes, 256 * 1024)
        var thread = pthread_t()
        let status = pthread_create(&thread, &attributes, { raw in
            guard let raw else { return nil }
            Unmanaged<Box>.fromOpaque(raw).takeRetainedValue().body()
            return nil
        }, context)
        guard status == 0 else {
            Unmanaged<Box>.fromOpaque(context).release()
            return nil
        }
        return TestThread(thread: thread)
    }

    func join() {
        pthread_join(thread, nil)
    }
}
