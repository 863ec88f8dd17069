import Synchronization

/// Probes fleet servers' `GET <base>/health/fleet` concurrently on libcurl's multi interface.
///
/// One dedicated thread owns the multi handle and every transfer. Callers use the async API;
/// each probe is handed over through a lock-protected queue and the thread is woken with
/// `curl_multi_wakeup`. Connections are kept alive and reused (HTTP/2 multiplexed where the
/// server offers it over TLS), and DNS answers are cached in the multi handle.
///
/// ```swift
/// let prober = try HealthProber(configuration: .init(timeout: .milliseconds(300)))
/// switch await prober.probe("https://fleet-2.example.com") {
/// case .success(let report): print(report.available)
/// case .failure(let failure): print(failure)       // e.g. "timeout: Operation timed out …"
/// }
/// ```
///
/// Call ``shutdown()`` when done (it also runs on deinit): it stops the thread and fails
/// pending probes with ``ProbeFailureReason/cancelled``.
public final class HealthProber: Sendable {
    /// The version in the default `User-Agent`, `voxbridge-dispatch/<version>`.
    public static let version = "0.1.0"

    /// The configuration this prober was created with.
    public let configuration: ProberConfiguration
    private let engine: ProbeEngine
    /// The curl thread until it has been joined; the lock makes a second `shutdown()` wait for
    /// the first to finish joining, so that "returned" always means "stopped".
    private let thread: Mutex<CurlThread?>

    /// Starts the curl thread.
    /// - Throws: ``ProberSetupError`` when the configuration is unusable, libcurl cannot create
    ///   a multi handle, or the thread cannot start.
    public init(configuration: ProberConfiguration = .init()) throws {
        if let problem = configuration.validationProblem() {
            throw ProberSetupError.invalidConfiguration(problem)
        }
        guard let multi = CurlMultiHandle() else {
            throw ProberSetupError.curlUnavailable("curl_multi_init failed")
        }
        let engine = ProbeEngine(multi: multi, configuration: configuration)
        self.configuration = configuration
        self.engine = engine
        let thread = try CurlThread.start {
            CurlLoop(engine: engine).run()
        }
        self.thread = Mutex(thread)
    }

    deinit {
        shutdown()
    }

    /// Probes one fleet server: `GET <baseURL>/health/fleet`.
    ///
    /// `baseURL` is a fleet entry such as `https://fleet-2.example.com` or
    /// `https://host/voxcore`; a trailing `/` is ignored. Never throws: every problem is a
    /// ``ProbeFailure`` with a named reason. Cancelling the calling task ends the probe at once
    /// with ``ProbeFailureReason/cancelled``.
    public func probe(_ baseURL: String) async -> ProbeOutcome {
        let startedAt = ContinuousClock.now
        let completion = await engine.perform(Self.healthURL(for: baseURL))
        return ProbeClassifier.outcome(
            of: completion, startedAt: startedAt, now: .now, maxBodyBytes: configuration.maxBodyBytes)
    }

    /// Probes several fleet servers concurrently; the outcomes are in the order of `baseURLs`.
    public func probe(_ baseURLs: [String]) async -> [ProbeOutcome] {
        await withTaskGroup(of: (Int, ProbeOutcome).self) { group in
            for (index, baseURL) in baseURLs.enumerated() {
                group.addTask { (index, await self.probe(baseURL)) }
            }
            let startedAt = ContinuousClock.now
            // Every slot is overwritten below; this placeholder is never returned.
            var outcomes = [ProbeOutcome](
                repeating: .failure(ProbeFailure(reason: .cancelled, detail: "", latency: .zero, startedAt: startedAt)),
                count: baseURLs.count)
            for await (index, outcome) in group {
                outcomes[index] = outcome
            }
            return outcomes
        }
    }

    /// Stops the curl thread and fails pending probes with ``ProbeFailureReason/cancelled``.
    /// Idempotent; later probes fail at once. Blocks until the thread has ended (normally well
    /// under a millisecond), so do not call it from a latency-sensitive path.
    public func shutdown() {
        engine.shutDown()
        thread.withLock { thread in
            thread?.join()
            thread = nil
        }
    }

    /// Probes queued or in flight right now. For tests: after a cancelled batch returns, it is 0.
    public var activeTransferCount: Int {
        engine.mailbox.withLock { $0.activeCount }
    }

    /// `<base>/health/fleet`, keeping any path prefix of the base.
    static func healthURL(for baseURL: String) -> String {
        var base = Substring(baseURL)
        while base.hasSuffix("/") { base.removeLast() }
        return base + "/health/fleet"
    }
}
