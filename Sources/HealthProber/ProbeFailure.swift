/// A failed probe: the named reason, a line for a person, and when and how long it took.
public struct ProbeFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// Why the probe failed.
    public var reason: ProbeFailureReason
    /// One line for a person, e.g. `Failed to connect to 127.0.0.1 port 9 after 0 ms: Couldn't
    /// connect to server`.
    public var detail: String
    /// Time from the start of the probe until it failed.
    public var latency: Duration
    /// When the probe started, for freshness decisions.
    public var startedAt: ContinuousClock.Instant

    /// Creates a failure; `detail` is flattened to one line.
    public init(reason: ProbeFailureReason, detail: String, latency: Duration, startedAt: ContinuousClock.Instant) {
        self.reason = reason
        self.detail = Self.oneLine(detail)
        self.latency = latency
        self.startedAt = startedAt
    }

    /// `code: detail`, e.g. `http_status: HTTP 500`.
    public var description: String { "\(reason.code): \(detail)" }

    /// Line breaks and other control characters would split a log line or a table cell.
    static func oneLine(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(min(text.utf8.count, 300))
        var lastWasSpace = false
        for scalar in text.unicodeScalars {
            let isControl = scalar.value < 0x20 || scalar.value == 0x7F
            if isControl || scalar == " " {
                if !lastWasSpace && !result.isEmpty { result.append(" ") }
                lastWasSpace = true
            } else {
                result.unicodeScalars.append(scalar)
                lastWasSpace = false
            }
            if result.unicodeScalars.count >= 300 { break }
        }
        while result.hasSuffix(" ") { result.removeLast() }
        return result
    }
}
