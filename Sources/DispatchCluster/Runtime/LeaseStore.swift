/// Where the lease and the membership rows live: the round trips ``ClusterCoordinator`` runs.
/// ``PostgresLease`` in production; the tests use one in memory, on a test clock.
public protocol LeaseStore: Sendable {
    /// This instance's identity in the lease and membership rows.
    var identity: String { get }
    /// The URL the other instances reach this one at.
    var url: String { get }
    /// Takes the lease when it lapsed, renews it when this instance holds it, and reads it
    /// back either way.
    func takeOrRenew(ttl: Duration) async throws -> LeaseRow
    /// Reads the lease without taking it.
    func read() async throws -> LeaseRow
    /// Ends the term `fencing` at once, if this instance still holds it.
    func release(fencing: Int64) async throws
    /// Writes this instance's membership row with `role` and reads the members seen within
    /// `timeout`.
    func heartbeat(role: String, timeout: Duration) async throws -> [ClusterMember]
    /// Removes this instance's membership row.
    func leave() async throws
    /// Closes the store's connections.
    func close() async
}

extension PostgresLease: LeaseStore {}
