import ArgumentParser

/// One `serve` option, declared once: ``ServeOptions`` takes its name, range and `--help` text
/// from here, and a test holds README's Configuration table to ``all``, so the name, the
/// environment variable and the default cannot drift apart between code, help and README.
///
/// The tokens are not options: they come from the environment only (``tokenVariables``), so that
/// `ps` never shows them.
struct ServeOption: Sendable {
    /// The long name without `--`, such as `probe-timeout-ms`.
    let name: String
    /// What the option does, for `--help`: one sentence, no default and no final full stop.
    let help: String
    /// The whole numbers accepted; `nil` for an option whose value is text.
    let range: ClosedRange<Int>?
    /// The default as `--help` and README show it; taken from ``DispatchConfiguration``'s own
    /// defaults wherever the default is a value, so that each is written once.
    let defaultText: String

    /// The environment variable read when the option is not on the command line.
    var variable: String { ConfigurationResolver.variable(for: name) }

    /// The `--help` text: the sentence, then the default and the variable, which `--help` would
    /// otherwise never show (every option is optional, so the parser knows no default).
    var helpText: ArgumentHelp {
        ArgumentHelp("\(help) (default \(defaultText); env \(variable)).")
    }
}

extension ServeOption {
    /// Every `serve` option, in README's order (which is also `--help`'s).
    static let all: [ServeOption] = [
        host, port, db, store, advertiseURL, probeTimeout, freshness, probeInterval, fall, rise, downInterval,
        reservationSettle, reservationTTL, slowStart, maxHeldPercent, probeCAFile, requestTimeout, idleTimeout, maxConnections, maxEventStreams,
        logLevel,
    ]

    /// The tokens' variables: environment only, never options, so the command line (and `ps`)
    /// never carries a secret.
    static let tokenVariables = [adminTokenVariable, pickTokenVariable, clusterSecretVariable, previousClusterSecretVariable]
    /// Guards settings writes; without it `serve` binds only loopback addresses.
    static let adminTokenVariable = "VOXBRIDGE_ADMIN_TOKEN"
    /// When set, guards picking, releasing and the read endpoints.
    static let pickTokenVariable = "VOXBRIDGE_PICK_TOKEN"

    /// What the cluster's members send each other; required with `--advertise-url`.
    static let clusterSecretVariable = "VOXBRIDGE_CLUSTER_SECRET"
    /// The secret being rotated out, still accepted from members meanwhile.
    static let previousClusterSecretVariable = "VOXBRIDGE_CLUSTER_SECRET_PREVIOUS"

    /// The values `--log-level` accepts, listed once for its help and its check.
    static let logLevels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]

    // Each option below is named after its `--` flag; a default that is a value comes from
    // DispatchConfiguration's own, so it is written once.

    /// The defaults the texts below are read from.
    private static let defaults = DispatchConfiguration()

    /// A default duration as README and `--help` show it: whole milliseconds.
    private static func milliseconds(_ duration: Duration) -> String {
        String(Int(duration.milliseconds))
    }

    static let host = ServeOption(
        name: "host", help: "Address to bind; only loopback without \(adminTokenVariable)", range: nil,
        defaultText: defaults.host)
    static let port = ServeOption(
        name: "port", help: "Port to bind; 0 picks a free port", range: 0...65_535, defaultText: String(defaults.port))
    static let db = ServeOption(
        name: "db", help: "SQLite settings database", range: nil, defaultText: DispatchConfiguration.defaultDatabasePath)
    static let store = ServeOption(
        name: "store",
        help: "PostgreSQL settings store postgres://USER@HOST:PORT/DATABASE shared by several instances, instead of --db",
        range: nil, defaultText: "none")
    static let advertiseURL = ServeOption(
        name: "advertise-url",
        help: "With --store: join the cluster of instances sharing that database; the http://HOST:PORT the others reach this one at",
        range: nil, defaultText: "none")
    static let probeTimeout = ServeOption(
        name: "probe-timeout-ms", help: "Bound on each health probe, in ms", range: 1...600_000,
        defaultText: milliseconds(defaults.probeTimeout))
    static let freshness = ServeOption(
        name: "freshness-ms", help: "Max age of a reading that serves a pick, in ms; 0: every pick probes",
        range: 0...3_600_000, defaultText: milliseconds(defaults.freshness))
    /// `--probe-interval-ms`; its default is the picker's (``FleetPickerConfiguration/refreshInterval``).
    static let probeInterval = ServeOption(
        name: "probe-interval-ms",
        help: "How often a server that is not down is probed in the background, in ms; under --freshness-ms",
        range: 1...3_600_000, defaultText: "60 % of --freshness-ms")
    static let fall = ServeOption(
        name: "fall", help: "Consecutive failed probes that take a server down", range: 1...1_000,
        defaultText: String(defaults.fall))
    static let rise = ServeOption(
        name: "rise", help: "Consecutive good probes that bring a server up again", range: 1...1_000,
        defaultText: String(defaults.rise))
    static let downInterval = ServeOption(
        name: "down-interval-ms", help: "How often a down server is probed, in ms", range: 1...3_600_000,
        defaultText: milliseconds(defaults.downInterval))
    static let reservationSettle = ServeOption(
        name: "reservation-settle-ms", help: "A good probe this long after a reservation ends it, in ms",
        range: 0...3_600_000, defaultText: milliseconds(defaults.reservationSettle))
    static let reservationTTL = ServeOption(
        name: "reservation-ttl-ms", help: "A reservation ends after this long in any case, in ms", range: 1...3_600_000,
        defaultText: milliseconds(defaults.reservationTTL))
    static let slowStart = ServeOption(
        name: "slow-start-ms",
        help: "For this long after a server becomes pickable again, picks use a share of its free workers rising from a tenth to all, in ms; 0: off",
        range: 0...3_600_000, defaultText: milliseconds(defaults.slowStart))
    static let maxHeldPercent = ServeOption(
        name: "max-held-percent",
        help: "The most of the healthy servers callers' failed releases may hold back or take down, in percent (at least one server)",
        range: 0...100, defaultText: String(defaults.maxHeldPercent))
    /// `--probe-ca-file`; without it the prober trusts the system's store.
    static let probeCAFile = ServeOption(
        name: "probe-ca-file", help: "PEM file of CAs trusted for https fleet servers", range: nil,
        defaultText: "the system's CAs")
    static let requestTimeout = ServeOption(
        name: "request-timeout-ms", help: "A request's head and body must arrive within this, in ms, or it is answered 408",
        range: 100...3_600_000, defaultText: milliseconds(defaults.requestTimeout))
    static let idleTimeout = ServeOption(
        name: "idle-timeout-ms", help: "An idle keep-alive connection is closed after this, in ms", range: 100...86_400_000,
        defaultText: milliseconds(defaults.idleTimeout))
    /// `--max-connections`; its default is worked out at start
    /// (`HTTPConnectionConfiguration.defaultMaxConnections(fileLimit:)`).
    static let maxConnections = ServeOption(
        name: "max-connections", help: "Connections served at once; more are closed at once", range: 1...1_048_576,
        defaultText: "the file limit less a reserve")
    static let maxEventStreams = ServeOption(
        name: "max-event-streams", help: "Most GET /v1/fleet/events streams open at once", range: 0...10_000,
        defaultText: String(defaults.events.maximumStreams))
    static let logLevel = ServeOption(
        name: "log-level", help: logLevels.dropLast().joined(separator: ", ") + " or " + logLevels[logLevels.count - 1],
        range: nil, defaultText: defaults.logLevel)
}
