/// The fields of a `GET /health/fleet` body (docs/API.md, "What the service reads from a fleet server"), read and checked.
///
/// ``parse(_:)`` is a pure function of the bytes: it never traps, whatever it is given, so it can
/// be fuzzed and can read untrusted answers on any thread.
public struct HealthReading: Sendable, Equatable {
    /// Configured workers.
    public var workers: Int
    /// Workers busy with a call now.
    public var activeCalls: Int
    /// Free workers, already capped at ``workers``.
    public var available: Int
    /// `ok` unless the server says otherwise.
    public var status: String

    /// Creates a reading from values already checked by the caller.
    public init(workers: Int, activeCalls: Int, available: Int, status: String) {
        self.workers = workers
        self.activeCalls = activeCalls
        self.available = available
        self.status = status
    }

    /// Only servers whose status is exactly `ok` receive calls.
    public var isAcceptingCalls: Bool { status == "ok" }

    /// Reads a health body.
    ///
    /// The rules, in the order they are checked:
    /// - the bytes must be one JSON value (RFC 8259, UTF-8, no trailing data) and that value an
    ///   object, else ``HealthReadingError/invalidJSON(_:)``;
    /// - `workers`, `active_calls` and, when present, `available` must be JSON integers (no
    ///   fraction or exponent, not strings or booleans) from 0 to `Int.max`, else
    ///   ``HealthReadingError/invalidField(_:_:)`` naming the first bad field in that order;
    /// - `status`, when present, must be a string, else `invalidField("status", …)`;
    /// - `available` defaults to `max(0, workers - active_calls)` and is capped at `workers`;
    ///   `status` defaults to `ok`; other fields are ignored; for a repeated key the last wins.
    public static func parse(_ bytes: some Collection<UInt8>) throws(HealthReadingError) -> HealthReading {
        let fields: [String: JSONScanner.Member]
        do {
            var scanner = JSONScanner(bytes: Array(bytes))
            fields = try scanner.topLevelObject(keeping: ["workers", "active_calls", "available", "status"])
        } catch {
            throw .invalidJSON(error.description)
        }
        let workers = try requiredCount("workers", in: fields)
        let activeCalls = try requiredCount("active_calls", in: fields)
        let available: Int
        if fields["available"] != nil {
            available = min(try requiredCount("available", in: fields), workers)
        } else {
            // Cannot overflow: both are ≥ 0.
            available = max(0, workers - activeCalls)
        }
        var status = "ok"
        if let member = fields["status"] {
            guard case .string(let text) = member else {
                throw .invalidField("status", "status must be a string, got \(member.kindName)")
            }
            status = text
        }
        return HealthReading(workers: workers, activeCalls: activeCalls, available: available, status: status)
    }

    private static func requiredCount(
        _ name: String, in fields: [String: JSONScanner.Member]
    ) throws(HealthReadingError) -> Int {
        guard let member = fields[name] else {
            throw .invalidField(name, "\(name) is missing")
        }
        switch member {
        case .integer(let value?) where value >= 0:
            return value
        case .integer(let value?):
            throw .invalidField(name, "\(name) must not be negative, got \(value)")
        case .integer(nil):
            throw .invalidField(name, "\(name) is too large")
        default:
            throw .invalidField(name, "\(name) must be a non-negative integer, got \(member.kindName)")
        }
    }
}
