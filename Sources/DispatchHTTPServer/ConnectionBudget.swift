/// How many connections the process may serve with the file limit it has now.
///
/// Every connection holds a descriptor, and so do the health probes, the database, the event
/// loops and the Swift runtime itself: libdispatch's worker monitor traps (SIGILL) when it
/// cannot open `/proc/<tid>/stat`, so one EMFILE can end the process. The cap therefore leaves a
/// reserve of the *current* limit, which can change while the process runs (`prlimit`), and
/// ``ConnectionGate`` follows it.
public struct ConnectionBudget: Sendable, Equatable {
    /// `--max-connections`; `nil`: as many as the file limit allows.
    public var configured: Int?

    /// A budget with `--max-connections` when given.
    public init(configured: Int? = nil) {
        self.configured = configured
    }

    /// The descriptors kept out of the connections' reach at `fileLimit`: a quarter of it, and
    /// at least 1,024 or half of it, whichever is less.
    public static func reserve(fileLimit: Int) -> Int {
        max(fileLimit / 4, min(1_024, fileLimit / 2))
    }

    /// The most connections `fileLimit` allows: the limit less its reserve, at least 1.
    public static func allowed(fileLimit: Int) -> Int {
        max(1, fileLimit - reserve(fileLimit: fileLimit))
    }

    /// The cap in force at `fileLimit`: `--max-connections`, but never more than the limit allows.
    public func cap(fileLimit: Int) -> Int {
        min(configured ?? .max, Self.allowed(fileLimit: fileLimit))
    }

    /// The budget, or the reason `--max-connections` cannot be kept at `fileLimit` (the limit
    /// `serve` runs with, after raising it to the hard limit).
    public func validated(fileLimit: Int) throws(ConnectionBudgetError) -> ConnectionBudget {
        if let configured, configured > Self.allowed(fileLimit: fileLimit) {
            throw ConnectionBudgetError(configured: configured, fileLimit: fileLimit, allowed: Self.allowed(fileLimit: fileLimit))
        }
        return self
    }
}

/// `--max-connections` above what the file limit allows.
public struct ConnectionBudgetError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The value given.
    public var configured: Int
    /// The file limit in force.
    public var fileLimit: Int
    /// The most connections that limit allows.
    public var allowed: Int

    /// One line naming the three.
    public var description: String {
        "--max-connections \(configured) is more than the file limit of \(fileLimit) descriptors allows (\(allowed), keeping \(ConnectionBudget.reserve(fileLimit: fileLimit)) for probes, the database and the runtime): lower it, or raise the limit (LimitNOFILE, ulimit -n)"
    }
}
