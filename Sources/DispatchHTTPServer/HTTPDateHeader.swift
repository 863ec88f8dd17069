#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The value of the `Date` header (RFC 9110 §5.6.7, IMF-fixdate) for answers written outside
/// Hummingbird's responder, which adds its own. Formatted at most once a second.
public struct HTTPDateHeader {
    private var formattedSecond = Int.min
    private var formatted = ""

    /// A header that formats on first use.
    public init() {}

    /// The current time, as in `Sun, 06 Nov 1994 08:49:37 GMT`.
    public mutating func current() -> String {
        var now = timespec()
        #if canImport(Darwin)
        clock_gettime(CLOCK_REALTIME, &now)
        #else
        // The coarse clock reads without a system call; a header has whole seconds anyway.
        clock_gettime(CLOCK_REALTIME_COARSE, &now)
        #endif
        let second = Int(now.tv_sec)
        if second != formattedSecond {
            formatted = Self.format(secondsSince1970: second)
            formattedSecond = second
        }
        return formatted
    }

    /// `secondsSince1970` (UTC) as an IMF-fixdate.
    public static func format(secondsSince1970: Int) -> String {
        var time = time_t(secondsSince1970)
        var parts = tm()
        gmtime_r(&time, &parts)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func twoDigits(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(days[Int(parts.tm_wday)]), \(twoDigits(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) "
            + "\(twoDigits(parts.tm_hour)):\(twoDigits(parts.tm_min)):\(twoDigits(parts.tm_sec)) GMT"
    }
}
