/// The lease's timing: how long a lease lasts, how often it is renewed and looked at, and how much
/// earlier than its expiry a leader stops deciding.
///
/// The defaults fit the failover budget: a leader killed with `kill -9` leaves a lease that
/// lapses within `ttl` (600 ms) and a follower polling every 100 ms takes it over, so a pick waits
/// well under a second; a database round trip may take `attemptTimeout` without a renewal being
/// missed.
public struct LeaseConfiguration: Sendable, Hashable {
    /// How long a lease lasts after the round trip that took or renewed it.
    public var ttl: Duration = .milliseconds(600)
    /// How often the leader renews its lease.
    public var renewInterval: Duration = .milliseconds(150)
    /// How often an instance that does not lead reads the lease and tries to take it.
    public var pollInterval: Duration = .milliseconds(100)
    /// A leader stops deciding this long before its lease can lapse, so clocks that run at
    /// slightly different rates cannot let two deciders overlap.
    public var safetyMargin: Duration = .milliseconds(60)
    /// The bound on one round trip to the database; past it the attempt counts as failed.
    public var attemptTimeout: Duration = .milliseconds(200)
    /// How often an instance writes its membership row and reads the others'.
    public var memberInterval: Duration = .milliseconds(250)
    /// A member not seen for this long is no longer listed (nor sent reservations).
    public var memberTimeout: Duration = .seconds(5)

    /// The defaults.
    public init() {}

    /// The configuration, or a sentence saying which bound it breaks: a leader must renew
    /// (and the round trip must answer) well inside the time it may decide.
    public func validated() throws(LeaseConfigurationError) -> LeaseConfiguration {
        guard ttl > .zero, renewInterval > .zero, pollInterval > .zero, attemptTimeout > .zero else {
            throw LeaseConfigurationError("every lease duration must be positive")
        }
        guard safetyMargin >= .zero, safetyMargin < ttl else {
            throw LeaseConfigurationError("the safety margin must be at least 0 and less than the lease's ttl")
        }
        guard renewInterval + attemptTimeout < ttl - safetyMargin else {
            throw LeaseConfigurationError(
                "the renew interval plus the attempt timeout must be less than the ttl less the safety margin, or a leader loses its lease between two renewals")
        }
        return self
    }
}

/// A ``LeaseConfiguration`` that cannot work.
public struct LeaseConfigurationError: Error, Sendable, CustomStringConvertible {
    /// What is wrong, in one sentence.
    public let description: String

    init(_ description: String) {
        self.description = description
    }
}
