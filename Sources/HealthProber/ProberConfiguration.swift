#if canImport(Glibc)
import Glibc
#endif

/// How a ``HealthProber`` reaches fleet servers.
///
/// Every field has the default of the documented `serve` options, so `ProberConfiguration()` is the
/// configuration the service runs with unless an operator changes `--probe-timeout-ms`.
public struct ProberConfiguration: Sendable {
    /// Bound on one whole probe: connecting, TLS, sending the request and reading the answer.
    public var timeout: Duration
    /// Bound on establishing the connection (TCP and TLS); `nil` means the same as ``timeout``.
    public var connectTimeout: Duration?
    /// A PEM file of CA certificates to trust instead of the system store, for a fleet behind a
    /// private CA. TLS verification stays on either way.
    public var caFile: String?
    /// Extra request headers sent with every probe, for a fleet that guards `/health/fleet`.
    public var extraHeaders: [String: String]
    /// The `User-Agent` header of every probe.
    public var userAgent: String
    /// The largest health body accepted; a longer one aborts the transfer as `body_too_large`.
    public var maxBodyBytes: Int
    /// How many idle connections the prober keeps open for reuse across all fleet servers.
    public var maxCachedConnections: Int
    /// How many connections the prober opens to one host at most; `0` means no limit. Probes
    /// beyond it wait for a free connection (their timeout keeps running).
    public var maxConnectionsPerHost: Int
    /// How long a resolved host name is reused before it is looked up again.
    public var dnsCacheTimeout: Duration
    /// How many finished easy handles are kept for reuse, which saves setting them up again.
    public var maxIdleHandles: Int

    /// Creates a configuration; every parameter defaults to the service's standard behaviour.
    /// - Parameters:
    ///   - timeout: bound on the whole probe (default 500 ms).
    ///   - connectTimeout: bound on connecting; `nil` (the default) uses `timeout`.
    ///   - caFile: PEM bundle of trusted CAs; `nil` (the default) uses the system store.
    ///   - extraHeaders: headers added to every probe (default none). Names and values must not
    ///     contain line breaks, and names no `:`.
    ///   - userAgent: the `User-Agent` header (default `voxbridge-dispatch/<version>`).
    ///   - maxBodyBytes: the body cap (default 65,536).
    ///   - maxCachedConnections: idle connections kept for reuse (default 256, one per fleet entry
    ///     at the contract's limit of 256 entries).
    ///   - maxConnectionsPerHost: connections to one host at most; `0` (the default) is no limit.
    ///   - dnsCacheTimeout: how long resolved names are reused (default 60 s).
    ///   - maxIdleHandles: finished transfers' handles kept for reuse (default 64).
    public init(
        timeout: Duration = .milliseconds(500),
        connectTimeout: Duration? = nil,
        caFile: String? = nil,
        extraHeaders: [String: String] = [:],
        userAgent: String = "voxbridge-dispatch/\(HealthProber.version)",
        maxBodyBytes: Int = 65_536,
        maxCachedConnections: Int = 256,
        maxConnectionsPerHost: Int = 0,
        dnsCacheTimeout: Duration = .seconds(60),
        maxIdleHandles: Int = 64
    ) {
        self.timeout = timeout
        self.connectTimeout = connectTimeout
        self.caFile = caFile
        self.extraHeaders = extraHeaders
        self.userAgent = userAgent
        self.maxBodyBytes = maxBodyBytes
        self.maxCachedConnections = maxCachedConnections
        self.maxConnectionsPerHost = maxConnectionsPerHost
        self.dnsCacheTimeout = dnsCacheTimeout
        self.maxIdleHandles = maxIdleHandles
    }

    /// The first problem that makes this configuration unusable, or `nil` when it is fine.
    ///
    /// Checked once in ``HealthProber/init(configuration:)`` so that a bad value fails at start-up
    /// instead of turning every probe into a confusing failure.
    func validationProblem() -> String? {
        if timeout <= .zero { return "timeout must be positive" }
        if let connectTimeout, connectTimeout <= .zero { return "connectTimeout must be positive" }
        if maxBodyBytes < 0 { return "maxBodyBytes must not be negative" }
        if maxCachedConnections < 0 { return "maxCachedConnections must not be negative" }
        if maxConnectionsPerHost < 0 { return "maxConnectionsPerHost must not be negative" }
        if maxIdleHandles < 0 { return "maxIdleHandles must not be negative" }
        if dnsCacheTimeout < .zero { return "dnsCacheTimeout must not be negative" }
        if Self.hasLineBreakOrNUL(userAgent) { return "userAgent contains a line break" }
        if let caFile, caFile.isEmpty || caFile.utf8.contains(0) { return "caFile is not a usable path" }
        // A missing or unreadable CA file would fail every https probe as `tls`; say so at start.
        if let caFile, access(caFile, R_OK) != 0 { return "the CA file \(caFile) cannot be read" }
        for (name, value) in extraHeaders {
            // A line break would let configuration smuggle extra headers or a second request.
            if name.isEmpty || name.contains(":") || name.contains(" ") || Self.hasLineBreakOrNUL(name) {
                return "extra header name \"\(name)\" is not a valid header name"
            }
            if Self.hasLineBreakOrNUL(value) { return "extra header \(name) has a line break in its value" }
        }
        return nil
    }

    /// `Duration` as whole milliseconds for libcurl, rounded up so that a sub-millisecond timeout
    /// never becomes `0`, which libcurl reads as "no timeout".
    static func milliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        let perMillisecond: Int64 = 1_000_000_000_000_000
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1000)
        if overflow || seconds < 0 { return seconds < 0 ? 1 : Int.max / 2 }
        let fraction = attoseconds / perMillisecond + (attoseconds % perMillisecond > 0 ? 1 : 0)
        return max(1, Int(whole + fraction))
    }

    private static func hasLineBreakOrNUL(_ text: String) -> Bool {
        text.utf8.contains { $0 == 0x0A || $0 == 0x0D || $0 == 0 }
    }
}
