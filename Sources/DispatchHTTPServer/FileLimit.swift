#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The process's file-descriptor limit (RLIMIT_NOFILE), which bounds its connections.
public enum FileLimit {
    /// The soft and hard limits now; `nil` for a limit that is unlimited or unreadable.
    public static func current() -> (soft: Int, hard: Int)? {
        var limit = rlimit()
        guard getrlimit(Self.resource, &limit) == 0 else { return nil }
        return (Self.count(limit.rlim_cur), Self.count(limit.rlim_max))
    }

    /// Raises the soft limit to the hard limit (which any process may do) and returns the soft
    /// limit in force afterwards and the one before.
    ///
    /// Why: the soft limit is often 1,024 while the hard limit is far higher (65,536 in the
    /// systemd unit); the connection limit is derived from the soft one.
    public static func raiseToHardLimit() -> (now: Int, before: Int)? {
        var limit = rlimit()
        guard getrlimit(Self.resource, &limit) == 0 else { return nil }
        let before = Self.count(limit.rlim_cur)
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Self.resource, &raised) == 0 { limit = raised }
        }
        return (Self.count(limit.rlim_cur), before)
    }

    /// A limit as a count; "unlimited" (all bits set) as the largest count the kernel allows a process.
    private static func count(_ value: rlim_t) -> Int {
        value > rlim_t(Int32.max) ? 1_048_576 : Int(value)
    }

    #if canImport(Glibc)
    private static let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    #else
    private static let resource = RLIMIT_NOFILE
    #endif
}
