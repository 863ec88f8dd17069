import DispatchHTTPServer
import ArgumentParser
import Foundation

/// The `serve` options as typed on the command line; each one left out is read from the
/// environment (`VOXBRIDGE_` + its name in capitals with `_` for `-`), then defaulted.
struct ServeOptions: ParsableArguments {
    @Option(help: "Address to bind (default 127.0.0.1; only loopback without VOXBRIDGE_ADMIN_TOKEN).")
    var host: String?

    @Option(help: "Port to bind; 0 picks a free port (default 8080).")
    var port: Int?

    @Option(help: "SQLite settings database (default voxbridge.sqlite).")
    var db: String?

    @Option(help: "PostgreSQL settings store, postgres://USER@HOST:PORT/DATABASE, shared by several instances (instead of --db).")
    var store: String?

    @Option(name: .customLong("advertise-url"), help: "With --store: join the cluster of instances sharing that database; the http://HOST:PORT the others reach this one at.")
    var advertiseURL: String?

    @Option(name: .customLong("probe-timeout-ms"), help: "Bound on each health probe in ms (default 500).")
    var probeTimeoutMilliseconds: Int?

    @Option(name: .customLong("freshness-ms"), help: "Max age of a reading that serves a pick, in ms; 0: every pick probes (default 250).")
    var freshnessMilliseconds: Int?

    @Option(name: .customLong("probe-interval-ms"), help: "How often a server that is not down is probed in the background, in ms; under --freshness-ms (default 60 % of it).")
    var probeIntervalMilliseconds: Int?

    @Option(help: "Consecutive failed probes that take a server down (default 3).")
    var fall: Int?

    @Option(help: "Consecutive good probes that bring a server up again (default 2).")
    var rise: Int?

    @Option(name: .customLong("down-interval-ms"), help: "How often a down server is probed, in ms (default 1000).")
    var downIntervalMilliseconds: Int?

    @Option(name: .customLong("reservation-settle-ms"), help: "A good probe this long after a reservation ends it, in ms (default 1000).")
    var reservationSettleMilliseconds: Int?

    @Option(name: .customLong("reservation-ttl-ms"), help: "A reservation ends after this long in any case, in ms (default 10000).")
    var reservationTTLMilliseconds: Int?

    @Option(name: .customLong("probe-ca-file"), help: "PEM file of CAs trusted for https fleet servers (default: the system's).")
    var probeCAFile: String?

    @Option(name: .customLong("request-timeout-ms"), help: "A request's head and body must arrive within this, in ms, or it is answered 408 (default 10000).")
    var requestTimeoutMilliseconds: Int?

    @Option(name: .customLong("idle-timeout-ms"), help: "An idle keep-alive connection is closed after this, in ms (default 60000).")
    var idleTimeoutMilliseconds: Int?

    @Option(name: .customLong("max-connections"), help: "Connections served at once; more are closed at once (default: from the file limit, less a reserve).")
    var maxConnections: Int?

    @Option(name: .customLong("max-event-streams"), help: "Most GET /v1/fleet/events streams open at once (default 128).")
    var maximumEventStreams: Int?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical (default info).")
    var logLevel: String?

    /// Resolves the options against `environment` into a configuration.
    /// - Throws: a one-line failure naming the option or variable with a bad value.
    func resolve(environment: [String: String]) throws(CommandLineFailure) -> DispatchConfiguration {
        var configuration = try CommandLineFailure.wrap { () throws(ConfigurationError) in try resolveOptions(environment: environment) }
        configuration.settingsStore = try SettingsStoreLocation.resolve(
            db: db, store: store, environment: environment, defaultPath: DispatchConfiguration.defaultDatabasePath)
        let resolver = ConfigurationResolver(environment: environment)
        if let text = resolver.string("advertise-url", advertiseURL) {
            let source = resolver.source(of: "advertise-url", given: advertiseURL != nil)
            guard case .postgres = configuration.settingsStore else {
                throw CommandLineFailure("\(source) needs --store postgres://…: the cluster's lease and members live in PostgreSQL")
            }
            configuration.advertiseURL = try CommandLineFailure.wrap { () throws(ConfigurationError) in
                try Self.advertiseURL(text, source: source)
            }
        }
        return configuration
    }

    /// `--advertise-url` checked and normalised: `http://` or `https://`, a host, an optional
    /// port, no path, query or credentials; without a trailing slash.
    static func advertiseURL(_ text: String, source: String) throws(ConfigurationError) -> String {
        let expected = "the http://HOST:PORT other instances reach this one at, with no path"
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty,
            components.user == nil, components.password == nil, components.query == nil, components.fragment == nil,
            components.path.isEmpty || components.path == "/",
            // Others cannot reach "any address".
            !["0.0.0.0", "::", "[::]"].contains(host)
        else { throw ConfigurationError(source: source, value: text, expected: expected) }
        var normalised = "\(scheme)://\(host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host)"
        if let port = components.port {
            guard (1...65_535).contains(port) else { throw ConfigurationError(source: source, value: text, expected: expected) }
            normalised += ":\(port)"
        }
        return normalised
    }

    private func resolveOptions(environment: [String: String]) throws(ConfigurationError) -> DispatchConfiguration {
        let resolver = ConfigurationResolver(environment: environment)
        var configuration = DispatchConfiguration()
        configuration.host = resolver.string("host", host) ?? configuration.host
        configuration.port = try resolver.integer("port", port, in: 0...65_535) ?? configuration.port
        if let value = try resolver.integer("probe-timeout-ms", probeTimeoutMilliseconds, in: 1...600_000) {
            configuration.probeTimeout = .milliseconds(value)
        }
        if let value = try resolver.integer("freshness-ms", freshnessMilliseconds, in: 0...3_600_000) {
            configuration.freshness = .milliseconds(value)
        }
        if let value = try resolver.integer("probe-interval-ms", probeIntervalMilliseconds, in: 1...3_600_000) {
            // A period at or past the window would let readings go stale between probes, and
            // picks would wait for the network again: the very thing the refresh is for.
            let freshness = Int(configuration.freshness.milliseconds)
            guard freshness > 0 else {
                // Every pick probes at freshness 0: a reading refreshed ahead could serve none.
                throw ConfigurationError(source: resolver.source(of: "probe-interval-ms", given: probeIntervalMilliseconds != nil),
                                         value: String(value), expected: "no value with --freshness-ms 0, where every pick probes")
            }
            guard value < freshness else {
                throw ConfigurationError(source: resolver.source(of: "probe-interval-ms", given: probeIntervalMilliseconds != nil),
                                         value: String(value), expected: "a whole number of ms under --freshness-ms (\(freshness))")
            }
            configuration.probeInterval = .milliseconds(value)
        }
        configuration.fall = try resolver.integer("fall", fall, in: 1...1_000) ?? configuration.fall
        configuration.rise = try resolver.integer("rise", rise, in: 1...1_000) ?? configuration.rise
        if let value = try resolver.integer("down-interval-ms", downIntervalMilliseconds, in: 1...3_600_000) {
            configuration.downInterval = .milliseconds(value)
        }
        if let value = try resolver.integer("reservation-settle-ms", reservationSettleMilliseconds, in: 0...3_600_000) {
            configuration.reservationSettle = .milliseconds(value)
        }
        if let value = try resolver.integer("reservation-ttl-ms", reservationTTLMilliseconds, in: 1...3_600_000) {
            configuration.reservationTTL = .milliseconds(value)
        }
        if let value = try resolver.integer("request-timeout-ms", requestTimeoutMilliseconds, in: 100...3_600_000) {
            configuration.requestTimeout = .milliseconds(value)
        }
        if let value = try resolver.integer("idle-timeout-ms", idleTimeoutMilliseconds, in: 100...86_400_000) {
            configuration.idleTimeout = .milliseconds(value)
        }
        configuration.maxConnections = try resolver.integer("max-connections", maxConnections, in: 1...1_048_576)
        configuration.probeCAFile = resolver.string("probe-ca-file", probeCAFile)
        if let value = try resolver.integer("max-event-streams", maximumEventStreams, in: 0...10_000) {
            configuration.events.maximumStreams = value
        }
        if let level = resolver.string("log-level", logLevel) {
            let levels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
            guard levels.contains(level) else {
                throw ConfigurationError(source: resolver.source(of: "log-level", given: logLevel != nil), value: level,
                                         expected: levels.joined(separator: ", "))
            }
            configuration.logLevel = level
        }
        configuration.adminToken = resolver.secret("ADMIN_TOKEN")
        configuration.pickToken = resolver.secret("PICK_TOKEN")
        return configuration
    }
}

/// Reads one option: the command-line value when given, otherwise `VOXBRIDGE_<NAME>`.
struct ConfigurationResolver {
    let environment: [String: String]

    /// The environment variable for an option: `probe-timeout-ms` → `VOXBRIDGE_PROBE_TIMEOUT_MS`.
    static func variable(for option: String) -> String {
        "VOXBRIDGE_" + option.uppercased().replacingOccurrences(of: "-", with: "_")
    }

    func source(of option: String, given: Bool) -> String {
        given ? "--\(option)" : Self.variable(for: option)
    }

    func string(_ option: String, _ given: String?) -> String? {
        given ?? environment[Self.variable(for: option)].flatMap { $0.isEmpty ? nil : $0 }
    }

    func integer(_ option: String, _ given: Int?, in range: ClosedRange<Int>) throws(ConfigurationError) -> Int? {
        let source = source(of: option, given: given != nil)
        let value: Int
        if let given {
            value = given
        } else if let text = environment[Self.variable(for: option)], !text.isEmpty {
            guard let parsed = Int(text) else {
                throw ConfigurationError(source: source, value: text, expected: "a whole number from \(range.lowerBound) to \(range.upperBound)")
            }
            value = parsed
        } else {
            return nil
        }
        guard range.contains(value) else {
            throw ConfigurationError(source: source, value: String(value), expected: "a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    /// A token from the environment only (never the command line, where `ps` would show it).
    func secret(_ name: String) -> String? {
        environment["VOXBRIDGE_" + name].flatMap { $0.isEmpty ? nil : $0 }
    }
}

/// A configuration value that cannot be used.
struct ConfigurationError: Error, CustomStringConvertible {
    /// `--option` or `VOXBRIDGE_OPTION`.
    var source: String
    /// The value given.
    var value: String
    /// What would have been accepted.
    var expected: String

    var description: String { "\(source): \"\(value)\" is not valid; expected \(expected)" }
}
