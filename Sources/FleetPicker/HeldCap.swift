/// The cap on servers callers' `failed` reports may hold back, when a report met it.
public struct HeldCap: Sendable, Equatable {
    /// Servers held back or taken down by callers' reports.
    public var held: Int
    /// The most allowed: `max(1, floor(healthy × percent / 100))`.
    public var limit: Int
    /// Servers the probes call healthy that no operator holds.
    public var healthy: Int
    /// The first report refused since the cap last had room (the one to log).
    public var first: Bool

    /// Creates a cap reading.
    public init(held: Int, limit: Int, healthy: Int, first: Bool) {
        self.held = held
        self.limit = limit
        self.healthy = healthy
        self.first = first
    }
}
