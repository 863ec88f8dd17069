import DispatchCluster
import DispatchHTTPServer
import FleetPicker
import HealthProber
import NIOCore
import PostgresSettingsStore

/// Everything `serve` needs to know, resolved from the command line, then the `VOXBRIDGE_*`
/// environment, then these defaults (the contract's option table).
struct DispatchConfiguration: Sendable, Equatable {
    /// The address to bind; only a loopback address unless an admin token is set.
    var host: String = "127.0.0.1"
    /// The port to bind; 0 picks a free one (the "listening on" line shows it).
    var port: Int = 8080
    /// The settings store: the SQLite file `--db` (default `voxbridge.sqlite`) or the PostgreSQL
    /// database `--store`.
    var settingsStore: SettingsStoreLocation = .sqlite(path: DispatchConfiguration.defaultDatabasePath)
    /// With a PostgreSQL store: the URL the cluster's other instances reach this one at
    /// (`--advertise-url`); `nil`: this instance decides alone (role `single`).
    var advertiseURL: String? = nil
    /// The cluster lease's timing.
    var lease = LeaseConfiguration()
    /// Bound on each health probe, connect and answer together.
    var probeTimeout: Duration = .milliseconds(500)
    /// How old (by its start) a reading may be and still serve a pick; zero: every pick probes.
    var freshness: Duration = .milliseconds(250)
    /// How often a server that is not down is probed in the background; `nil`: 60 % of
    /// `freshness` (none when freshness is zero).
    var probeInterval: Duration? = nil
    /// Consecutive failed probes that take a server down.
    var fall: Int = 3
    /// Consecutive good probes that bring a down server up again.
    var rise: Int = 2
    /// How often a down server is probed in the background.
    var downInterval: Duration = .seconds(1)
    /// A reservation ends when a good probe of its server started at least this long after it.
    var reservationSettle: Duration = .seconds(1)
    /// A reservation ends after this long in any case.
    var reservationTTL: Duration = .seconds(10)
    /// For this long after a server becomes pickable again, picks use only part of its free
    /// workers, rising from a tenth to all; zero: off.
    var slowStart: Duration = .zero
    /// The most of the healthy servers callers' `failed` reports may hold back, in percent.
    var maxHeldPercent: Int = 50
    /// Guards settings writes (`VOXBRIDGE_ADMIN_TOKEN`); also accepted wherever the pick token is.
    var adminToken: String? = nil
    /// When set, guards picking, releasing and the read endpoints (`VOXBRIDGE_PICK_TOKEN`).
    var pickToken: String? = nil
    /// What the cluster's members send each other (`VOXBRIDGE_CLUSTER_SECRET`): required with
    /// `--advertise-url`, never a caller's token.
    var clusterSecret: String? = nil
    /// A second secret accepted from members and never sent (`VOXBRIDGE_CLUSTER_SECRET_PREVIOUS`):
    /// while the secret is rotated, the next one or the old one, so a rotation needs no stop.
    var clusterSecretPrevious: String? = nil
    /// A PEM file of CAs to trust when probing https fleet servers behind a private CA.
    var probeCAFile: String? = nil
    /// The fleet event stream's period and bound on open streams (`--max-event-streams`).
    var events = FleetEventConfiguration()
    /// The log level (`VOXBRIDGE_LOG_LEVEL`): trace, debug, info, notice, warning, error, critical.
    var logLevel: String = "info"
    /// How long a request's head and body may take to arrive, from its first byte (or from the
    /// connection's opening, for its first request); past it the request is answered 408 and the
    /// connection closed, so a slow or stalled client cannot hold a connection for long.
    var requestTimeout: Duration = .seconds(10)
    /// How long a keep-alive connection may stay idle (no request arriving, no answer owed)
    /// before it is closed.
    var idleTimeout: Duration = .seconds(60)
    /// The most connections served at once; past it new connections are closed at once. `nil`:
    /// as many as the process's file limit allows (``ConnectionBudget``), followed while it runs.
    var maxConnections: Int? = nil

    /// The picker's rules from these options.
    var pickerConfiguration: FleetPickerConfiguration {
        FleetPickerConfiguration(
            freshness: freshness, fall: fall, rise: rise, downInterval: downInterval,
            reservationSettle: reservationSettle, reservationTTL: reservationTTL, probeInterval: probeInterval,
            slowStart: slowStart, maxHeldPercent: maxHeldPercent)
    }

    /// The prober's settings from these options.
    var proberConfiguration: ProberConfiguration {
        ProberConfiguration(timeout: probeTimeout, caFile: probeCAFile)
    }

    /// The HTTP server's timeouts and connection limit from these options; without
    /// `--max-connections`, the limit is derived from `fileLimit` (the process's soft limit).
    func connectionConfiguration(fileLimit: Int) -> HTTPConnectionConfiguration {
        var connections = HTTPConnectionConfiguration()
        connections.requestTimeout = .nanoseconds(requestTimeout.nanoseconds)
        connections.idleTimeout = .nanoseconds(idleTimeout.nanoseconds)
        connections.maxConnections = connectionBudget.cap(fileLimit: fileLimit)
        return connections
    }

    /// The connection limit's rule: `--max-connections`, never more than the file limit allows.
    var connectionBudget: ConnectionBudget {
        ConnectionBudget(configured: maxConnections)
    }

    /// The SQLite file used when neither `--db` nor `--store` is given.
    static let defaultDatabasePath = "voxbridge.sqlite"

    /// The secrets a member call may carry: the current one, then the previous one.
    var clusterSecrets: [String] {
        [clusterSecret, clusterSecretPrevious].compactMap { $0 }
    }

    /// The shortest cluster secret accepted: 16 characters, 96 bits or more when random.
    static let minimumClusterSecretLength = 16

    /// The largest request body accepted, on every route (an `exclude` list of 256 long URLs fits).
    static let maximumRequestBodyBytes = 1 << 20

    /// Whether `host` names a loopback address, which is all that may be bound without an admin
    /// token: with no token, settings writes are open, so only local callers may reach them.
    var bindsLoopbackOnly: Bool {
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        if bare == "localhost" || bare == "::1" { return true }
        let octets = bare.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
    }

    /// `http://HOST:PORT` with an IPv6 host in brackets.
    func baseURL(port actualPort: Int) -> String {
        let shownHost = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        return "http://\(shownHost):\(actualPort)"
    }
}
