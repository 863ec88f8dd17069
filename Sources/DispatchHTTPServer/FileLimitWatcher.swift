import Logging
import ServiceLifecycle

/// Re-reads the process's file limit every ``interval`` and makes ``ConnectionGate`` follow
/// it, so that a limit lowered while the service runs (`prlimit`, a supervisor) lowers the
/// connection limit before a flood can spend the descriptors the runtime needs. Logs each change
/// once. A `getrlimit` costs well under a microsecond: fifty a second cost nothing.
public struct FileLimitWatcher<C: Clock>: Service where C.Duration == Duration {
    /// How often the limit is read.
    public static var interval: Duration { .milliseconds(20) }

    let gate: ConnectionGate
    let readLimit: @Sendable () -> Int?
    let clock: C
    let logger: Logger

    /// A watcher of `readLimit` (the soft RLIMIT_NOFILE in production) for `gate`.
    public init(gate: ConnectionGate, clock: C, logger: Logger, readLimit: @escaping @Sendable () -> Int? = { FileLimit.current()?.soft }) {
        self.gate = gate
        self.readLimit = readLimit
        self.clock = clock
        self.logger = logger
    }

    /// Reads the limit once and applies it; the change, if any, logged.
    @discardableResult
    public func check() -> ConnectionGate.LimitChange? {
        guard let fileLimit = readLimit(), let change = gate.follow(fileLimit: fileLimit) else { return nil }
        let closing = change.closed > 0 ? "; closing the \(change.closed) newest connections, which no longer fit" : ""
        logger.warning("file limit now \(change.fileLimit) descriptors: at most \(change.to) connections (was \(change.from))\(closing)")
        return change
    }

    /// Checks every ``interval`` until graceful shutdown or cancellation.
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                check()
                try? await clock.sleep(until: clock.now.advanced(by: Self.interval), tolerance: nil)
            }
        }
    }
}
