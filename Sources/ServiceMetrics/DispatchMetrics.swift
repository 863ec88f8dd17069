import CoreMetrics
import DispatchCluster
import DispatchHTTPServer
import FleetPicker
import Prometheus
import Synchronization

/// The service's own metrics, in one Prometheus registry per application (so tests that build
/// several applications in one process do not share counters).
///
/// Counters and the pick histogram go through swift-metrics with this registry's factory; the
/// per-server gauges are set from the picker's snapshot when `/metrics` is scraped, which keeps
/// them exact and drops the series of servers that left the list.
public final class DispatchMetrics: ConnectionMetrics, ClusterMetrics {
    /// Upper bounds of the pick-duration buckets: a fresh pick takes microseconds, a pick that
    /// waits for probes up to the probe timeout.
    static let pickDurationBuckets: [Duration] = [
        .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1),
        .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
        .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500),
    ]

    /// The registry every metric of this application is in.
    public let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory
    private let picked: CoreMetrics.Counter
    private let fleetEmpty: CoreMetrics.Counter
    private let noCapacity: CoreMetrics.Counter
    private let pickDuration: CoreMetrics.Timer
    private let pickedInPipeline: CoreMetrics.Counter
    /// Releases by reason (`not_placed`, `busy`, `failed`), one counter each.
    private let releases: [ReleaseReason: CoreMetrics.Counter]
    /// `failed` releases that held nothing back because the cap on held servers was reached.
    private let cappedReports: CoreMetrics.Counter
    /// Probe counters by result, made on first use (results are a small fixed set).
    private let probeCounters: Mutex<[String: CoreMetrics.Counter]>
    /// The per-server gauges set at the last scrape, to unregister those of removed servers.
    private let serverGauges: Mutex<[String: [Prometheus.Gauge]]>
    private let reservationsInFlight: Prometheus.Gauge
    /// HTTP connections open now (admitted by ``ConnectionGate``, not yet closed).
    private let connectionsOpen: Prometheus.Gauge
    /// The connection limit in force (it follows the file limit).
    private let connectionsLimit: Prometheus.Gauge
    /// Connections closed because a lower file limit left no room for them.
    private let connectionsShed: CoreMetrics.Counter
    /// Connections closed at once because ``ConnectionGate``'s limit was reached.
    private let connectionsRefused: CoreMetrics.Counter
    /// Requests whose head or body did not arrive within the request timeout.
    private let requestsTimedOut: CoreMetrics.Counter
    /// Connections closed for waiting too long for a request (idle keep-alive, or new and silent).
    private let connectionsClosedIdle: CoreMetrics.Counter
    /// 1 while the settings store can be reached, 0 while picks run on the last list loaded.
    private let storeUp: Prometheus.Gauge
    /// `voxbridge_cluster_role{role}`: 1 for this instance's role, 0 for the others.
    private let clusterRoles: [String: Prometheus.Gauge]
    /// The lease term this instance decides under while it leads, else 0.
    private let clusterFencing: Prometheus.Gauge
    /// Counters made on first use: forwards by result, replication sends by result.
    private let clusterCounters: Mutex<[String: CoreMetrics.Counter]>
    /// Reservations other members decided that this instance took on.
    private let reservationsAdopted: CoreMetrics.Counter
    /// The same picks and probes, also counted here where the operator's page can read them
    /// back (a swift-metrics counter cannot be read); relaxed atomics, one add per event.
    private let pickedCount = Atomic<Int>(0)
    private let noCapacityCount = Atomic<Int>(0)
    private let fleetEmptyCount = Atomic<Int>(0)
    private let probeCount = Atomic<Int>(0)

    /// Metrics in a registry of their own.
    public init() {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets = ["voxbridge_pick_duration_seconds": Self.pickDurationBuckets]
        self.registry = registry
        self.factory = factory
        picked = Counter(label: "voxbridge_picks_total", dimensions: [("outcome", "picked")], factory: factory)
        fleetEmpty = Counter(label: "voxbridge_picks_total", dimensions: [("outcome", "fleet_empty")], factory: factory)
        noCapacity = Counter(label: "voxbridge_picks_total", dimensions: [("outcome", "no_capacity")], factory: factory)
        pickDuration = Timer(label: "voxbridge_pick_duration_seconds", factory: factory)
        pickedInPipeline = Counter(label: "voxbridge_picks_answered_in_pipeline_total", factory: factory)
        releases = Dictionary(uniqueKeysWithValues: ReleaseReason.allCases.map { reason in
            (reason, Counter(label: "voxbridge_releases_total", dimensions: [("reason", reason.rawValue)], factory: factory))
        })
        cappedReports = Counter(label: "voxbridge_release_reports_capped_total", factory: factory)
        probeCounters = Mutex([:])
        serverGauges = Mutex([:])
        reservationsInFlight = registry.makeGauge(name: "voxbridge_reservations_in_flight", labels: [])
        connectionsOpen = registry.makeGauge(name: "voxbridge_http_connections_open", labels: [])
        connectionsLimit = registry.makeGauge(name: "voxbridge_http_connections_limit", labels: [])
        connectionsShed = Counter(label: "voxbridge_http_connections_shed_total", factory: factory)
        connectionsRefused = Counter(label: "voxbridge_http_connections_refused_total", factory: factory)
        requestsTimedOut = Counter(label: "voxbridge_http_requests_timed_out_total", factory: factory)
        connectionsClosedIdle = Counter(label: "voxbridge_http_connections_closed_idle_total", factory: factory)
        storeUp = registry.makeGauge(name: "voxbridge_store_up", labels: [])
        storeUp.set(to: 1)
        clusterRoles = Dictionary(uniqueKeysWithValues: Self.clusterRoleNames.map { role in
            (role, registry.makeGauge(name: "voxbridge_cluster_role", labels: [("role", role)]))
        })
        clusterRoles["single"]?.set(to: 1)
        clusterFencing = registry.makeGauge(name: "voxbridge_cluster_lease_term", labels: [])
        clusterCounters = Mutex([:])
        reservationsAdopted = Counter(label: "voxbridge_cluster_reservations_adopted_total", factory: factory)
    }

    /// The roles `voxbridge_cluster_role` shows.
    static let clusterRoleNames = ["single", "leader", "follower", "degraded"]

    /// Sets `voxbridge_cluster_role` to `role` and `voxbridge_cluster_lease_term` to the term
    /// this instance leads under (0 when it does not lead).
    public func setClusterRole(_ role: String, fencing: Int64?) {
        for (name, gauge) in clusterRoles { gauge.set(to: name == role ? 1 : 0) }
        clusterFencing.set(to: Double(fencing ?? 0))
    }

    /// Counts one pick or release forwarded to the leader (`voxbridge_cluster_forwards_total`):
    /// `ok`, `unreachable`, `not_leader` or `leader_changed` (abandoned: another instance leads now);
    /// `relayed` or `relay_failed` when sent through another member around a leader out of reach.
    public func recordForward(result: String) {
        clusterCounter("voxbridge_cluster_forwards_total", result: result).increment()
    }

    /// Counts one batch of reservations sent to a member, or changes dropped from a full
    /// queue (`voxbridge_cluster_replication_total`): `sent`, `failed` or `dropped`.
    public func recordReplication(result: String) {
        clusterCounter("voxbridge_cluster_replication_total", result: result).increment()
    }

    /// Counts reservations another member decided that this instance took on.
    public func recordReservationsAdopted(_ count: Int) {
        if count > 0 { reservationsAdopted.increment(by: count) }
    }

    /// Counts a member call (`POST /v1/cluster/reservations`) refused, by why: `unauthorized`
    /// (no or an unknown credential), `forbidden` (a caller's token), `not_member` (its `from`
    /// is no current member), or `not_theirs` (one release of a reservation its sender neither
    /// made nor leads over; counted per release, the rest of the batch is applied).
    public func recordMemberCallRefused(reason: String, count: Int = 1) {
        if count > 0 { clusterCounter("voxbridge_cluster_member_calls_refused_total", result: reason, dimension: "reason").increment(by: count) }
    }

    private func clusterCounter(_ label: String, result: String, dimension: String = "result") -> CoreMetrics.Counter {
        clusterCounters.withLock { counters in
            let key = label + "|" + result
            if let counter = counters[key] { return counter }
            let counter = Counter(label: label, dimensions: [(dimension, result)], factory: factory)
            counters[key] = counter
            return counter
        }
    }

    /// Counts a connection admitted (`+1`) or closed (`-1`) in `voxbridge_http_connections_open`.
    public func recordConnectionsOpen(change: Int) {
        connectionsOpen.increment(by: Double(change))
    }

    /// Counts a connection refused because the connection limit was reached.
    public func recordConnectionRefused() {
        connectionsRefused.increment()
    }

    /// Sets `voxbridge_http_connections_limit`, the connection limit in force.
    public func recordConnectionLimit(_ limit: Int) {
        connectionsLimit.set(to: Double(limit))
    }

    /// Counts connections closed because a lower file limit left no room for them.
    public func recordConnectionsShed(_ count: Int) {
        if count > 0 { connectionsShed.increment(by: count) }
    }

    /// Counts a request closed (and answered 408 where it could be) by the request timeout.
    public func recordRequestTimedOut() {
        requestsTimedOut.increment()
    }

    /// Counts a connection closed for waiting too long for a request.
    public func recordConnectionClosedIdle() {
        connectionsClosedIdle.increment()
    }

    /// Counts one answered pick and its duration.
    public func recordPick(_ outcome: PickOutcome, duration: Duration) {
        switch outcome {
        case .picked:
            picked.increment()
            pickedCount.add(1, ordering: .relaxed)
        case .fleetEmpty:
            fleetEmpty.increment()
            fleetEmptyCount.add(1, ordering: .relaxed)
        case .noCapacity:
            noCapacity.increment()
            noCapacityCount.add(1, ordering: .relaxed)
        }
        pickDuration.recordNanoseconds(duration.nanoseconds)
    }

    /// Counts one pick answered by the pick fast path in the channel pipeline (after ``recordPick(_:duration:)``):
    /// of `voxbridge_picks_total{outcome="picked"}`, these needed neither probes nor the router.
    /// A falling share means picks wait for probes (a `--freshness-ms` short for the pick rate).
    public func recordPickAnsweredInPipeline() {
        pickedInPipeline.increment()
    }

    /// Counts one accepted release by its reason.
    public func recordRelease(_ reason: ReleaseReason) {
        releases[reason]?.increment()
    }

    /// Counts a `failed` release that held nothing back: callers' reports already held back as
    /// many servers as `--max-held-percent` allows.
    public func recordReportCapped() {
        cappedReports.increment()
    }

    /// Records whether the settings store can be reached (`voxbridge_store_up`).
    public func setStoreUp(_ up: Bool) {
        storeUp.set(to: up ? 1 : 0)
    }

    /// Counts one finished probe; `result` is `ok` or the failure's code (`timeout`, …).
    public func recordProbe(result: String) {
        let counter = probeCounters.withLock { counters in
            if let counter = counters[result] { return counter }
            let counter = Counter(label: "voxbridge_probes_total", dimensions: [("result", result)], factory: factory)
            counters[result] = counter
            return counter
        }
        counter.increment()
        probeCount.add(1, ordering: .relaxed)
    }

    /// The pick and probe counts since start, for the totals of the event stream.
    public func counts() -> DispatchCounts {
        DispatchCounts(
            picked: pickedCount.load(ordering: .relaxed), noCapacity: noCapacityCount.load(ordering: .relaxed),
            fleetEmpty: fleetEmptyCount.load(ordering: .relaxed), probes: probeCount.load(ordering: .relaxed))
    }

    /// The Prometheus text for a scrape, with the per-server gauges taken from `servers`.
    public func render(servers: [ServerSnapshot<ContinuousClock.Instant>]) -> [UInt8] {
        serverGauges.withLock { gauges in
            var current: [String: [Prometheus.Gauge]] = [:]
            var reserved = 0
            for server in servers {
                let labels = [("server", server.url)]
                let available = registry.makeGauge(name: "voxbridge_fleet_server_available", labels: labels)
                let up = registry.makeGauge(name: "voxbridge_fleet_server_up", labels: labels)
                let reservedGauge = registry.makeGauge(name: "voxbridge_fleet_server_reserved", labels: labels)
                available.set(to: Double(server.available ?? 0))
                up.set(to: server.state == .up ? 1.0 : 0.0)
                reservedGauge.set(to: Double(server.reserved))
                reserved += server.reserved
                current[server.url] = [available, up, reservedGauge]
            }
            for (url, stale) in gauges where current[url] == nil {
                stale.forEach(registry.unregisterGauge)
            }
            gauges = current
            reservationsInFlight.set(to: Double(reserved))
            for state in OperatorState.allCases {
                registry.makeGauge(name: "voxbridge_fleet_servers_by_operator_state", labels: [("state", state.rawValue)])
                    .set(to: Double(servers.count { $0.operatorState == state }))
            }
        }
        return registry.emitToBuffer()
    }
}
