import DispatchHTTPServer
import FleetPicker

/// The fleet at a glance, for the operator's page: the `totals` member of each event of
/// `GET /v1/fleet/events`, computed from the snapshot and the service's own counters.
///
/// Rates are the counters' growth over the sampling window of ``RateWindow`` (a few seconds),
/// so one event is enough to read them; they are 0 until a second sample exists.
public struct FleetTotals: Sendable, Equatable {
    /// Servers in the list.
    public var servers: Int
    /// Servers whose state is `up`.
    public var serversUp: Int
    /// Workers of the servers that are up, by their last reading.
    public var workers: Int
    /// Free workers of the servers that are up, less this service's reservations on them.
    public var freeWorkers: Int
    /// Reservations not yet covered by a report, on every server.
    public var reserved: Int
    /// Counts since the service started.
    public var counts: DispatchCounts
    /// Picks answered with a server, per second.
    public var picksPerSecond: Double
    /// Picks answered `no_capacity`, per second.
    public var noCapacityPerSecond: Double
    /// Health probes, per second.
    public var probesPerSecond: Double
    /// When these totals were taken (ISO 8601): the page measures probe ages from it, not from
    /// the browser's clock.
    public var generatedAt: String

    /// The totals of `servers` with `counts` now and the `rates` of the counters.
    public init(servers: [ServerSnapshot<ContinuousClock.Instant>], counts: DispatchCounts, rates: RateWindow.Rates, generatedAt: String) {
        let up = servers.filter { $0.state == .up }
        self.servers = servers.count
        self.serversUp = up.count
        self.workers = up.reduce(0) { $0 + ($1.workers ?? 0) }
        self.freeWorkers = up.reduce(0) { $0 + max(0, ($1.available ?? 0) - $1.reserved) }
        self.reserved = servers.reduce(0) { $0 + $1.reserved }
        self.counts = counts
        self.picksPerSecond = rates.picked
        self.noCapacityPerSecond = rates.noCapacity
        self.probesPerSecond = rates.probes
        self.generatedAt = generatedAt
    }

    /// The JSON object the event stream sends.
    public var json: JSONValue {
        .object([
            "servers": .int(servers),
            "servers_up": .int(serversUp),
            "workers": .int(workers),
            "free_workers": .int(freeWorkers),
            "reserved": .int(reserved),
            "picks_total": .int(counts.picked),
            "no_capacity_total": .int(counts.noCapacity),
            "fleet_empty_total": .int(counts.fleetEmpty),
            "probes_total": .int(counts.probes),
            "picks_per_second": .double(Self.rounded(picksPerSecond)),
            "no_capacity_per_second": .double(Self.rounded(noCapacityPerSecond)),
            "probes_per_second": .double(Self.rounded(probesPerSecond)),
            "generated_at": .string(generatedAt),
        ])
    }

    /// Two decimals: enough for a page, and stable text for a script.
    private static func rounded(_ value: Double) -> Double { (value * 100).rounded() / 100 }
}
