import ArgumentParser
import DispatchHTTPServer
import Foundation
import PostgresSettingsStore

/// The `serve` options as typed on the command line; each one left out is read from the
/// environment (`VOXBRIDGE_` + its name in capitals with `_` for `-`), then defaulted. Names,
/// ranges and help come from ``ServeOption``.
struct ServeOptions: ParsableArguments {
    @Option(name: .customLong(ServeOption.host.name), help: ServeOption.host.helpText)
    var host: String?

    @Option(name: .customLong(ServeOption.port.name), help: ServeOption.port.helpText)
    var port: Int?

    @Option(name: .customLong(ServeOption.db.name), help: ServeOption.db.helpText)
    var db: String?

    @Option(name: .customLong(ServeOption.store.name), help: ServeOption.store.helpText)
    var store: String?

    @Option(name: .customLong(ServeOption.advertiseURL.name), help: ServeOption.advertiseURL.helpText)
    var advertiseURL: String?

    @Option(name: .customLong(ServeOption.probeTimeout.name), help: ServeOption.probeTimeout.helpText)
    var probeTimeoutMilliseconds: Int?

    @Option(name: .customLong(ServeOption.freshness.name), help: ServeOption.freshness.helpText)
    var freshnessMilliseconds: Int?

    @Option(name: .customLong(ServeOption.probeInterval.name), help: ServeOption.probeInterval.helpText)
    var probeIntervalMilliseconds: Int?

    @Option(name: .customLong(ServeOption.fall.name), help: ServeOption.fall.helpText)
    var fall: Int?

    @Option(name: .customLong(ServeOption.rise.name), help: ServeOption.rise.helpText)
    var rise: Int?

    @Option(name: .customLong(ServeOption.downInterval.name), help: ServeOption.downInterval.helpText)
    var downIntervalMilliseconds: Int?

    @Option(name: .customLong(ServeOption.reservationSettle.name), help: ServeOption.reservationSettle.helpText)
    var reservationSettleMilliseconds: Int?

    @Option(name: .customLong(ServeOption.reservationTTL.name), help: ServeOption.reservationTTL.helpText)
    var reservationTTLMilliseconds: Int?

    @Option(name: .customLong(ServeOption.slowStart.name), help: ServeOption.slowStart.helpText)
    var slowStartMilliseconds: Int?

    @Option(name: .customLong(ServeOption.maxHeldPercent.name), help: ServeOption.maxHeldPercent.helpText)
    var maxHeldPercent: Int?

    @Option(name: .customLong(ServeOption.probeCAFile.name), help: ServeOption.probeCAFile.helpText)
    var probeCAFile: String?

    @Option(name: .customLong(ServeOption.requestTimeout.name), help: ServeOption.requestTimeout.helpText)
    var requestTimeoutMilliseconds: Int?

    @Option(name: .customLong(ServeOption.idleTimeout.name), help: ServeOption.idleTimeout.helpText)
    var idleTimeoutMilliseconds: Int?

    @Option(name: .customLong(ServeOption.maxConnections.name), help: ServeOption.maxConnections.helpText)
    var maxConnections: Int?

    @Option(name: .customLong(ServeOption.maxEventStreams.name), help: ServeOption.maxEventStreams.helpText)
    var maximumEventStreams: Int?

    @Option(name: .customLong(ServeOption.logLevel.name), help: ServeOption.logLevel.helpText)
    var logLevel: String?

    /// Resolves the options against `environment` into a configuration.
    /// - Throws: a one-line failure naming the option or variable with a bad value.
    func resolve(environment: [String: String]) throws(CommandLineFailure) -> DispatchConfiguration {
        var configuration = try CommandLineFailure.wrap { () throws(ConfigurationError) in try resolveOptions(environment: environment) }
        configuration.settingsStore = try CommandLineFailure.wrap { () throws(SettingsStoreLocationError) in
            try SettingsStoreLocation.resolve(db: db, store: store, environment: environment, defaultPath: DispatchConfiguration.defaultDatabasePath)
        }
        let resolver = ConfigurationResolver(environment: environment)
        if let text = resolver.string(.advertiseURL, advertiseURL) {
            let source = resolver.source(of: .advertiseURL, given: advertiseURL != nil)
            guard case .postgres = configuration.settingsStore else {
                throw CommandLineFailure("\(source) needs --store postgres://…: the cluster's lease and members live in PostgreSQL")
            }
            configuration.advertiseURL = try CommandLineFailure.wrap { () throws(ConfigurationError) in
                try Self.advertiseURL(text, source: source)
            }
        }
        try Self.checkClusterSecrets(configuration)
        return configuration
    }

    /// The cluster secrets checked: required in a cluster (without one, any caller could send the
    /// members' own calls), long enough, and unlike the callers' tokens, which would otherwise
    /// open the members' endpoints.
    static func checkClusterSecrets(_ configuration: DispatchConfiguration) throws(CommandLineFailure) {
        let (current, previous) = (ServeOption.clusterSecretVariable, ServeOption.previousClusterSecretVariable)
        if configuration.advertiseURL != nil, configuration.clusterSecret == nil {
            throw CommandLineFailure(
                "--advertise-url needs \(current): the same secret on every member, which callers do not have (docs/CLUSTER.md, \"The cluster secret\")")
        }
        if configuration.clusterSecretPrevious != nil, configuration.clusterSecret == nil {
            throw CommandLineFailure("\(previous) is set without \(current): set the new secret, keep the old one in \(previous) while rotating")
        }
        for (variable, secret) in [(current, configuration.clusterSecret), (previous, configuration.clusterSecretPrevious)] {
            guard let secret else { continue }
            guard secret.count >= DispatchConfiguration.minimumClusterSecretLength else {
                throw CommandLineFailure("\(variable) is shorter than \(DispatchConfiguration.minimumClusterSecretLength) characters")
            }
            guard secret != configuration.pickToken, secret != configuration.adminToken else {
                throw CommandLineFailure("\(variable) equals a caller's token: the cluster secret must be one callers do not have")
            }
        }
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
        configuration.host = resolver.string(.host, host) ?? configuration.host
        configuration.port = try resolver.integer(.port, port) ?? configuration.port
        if let value = try resolver.integer(.probeTimeout, probeTimeoutMilliseconds) {
            configuration.probeTimeout = .milliseconds(value)
        }
        if let value = try resolver.integer(.freshness, freshnessMilliseconds) {
            configuration.freshness = .milliseconds(value)
        }
        if let value = try resolver.integer(.probeInterval, probeIntervalMilliseconds) {
            // A period at or past the window would let readings go stale between probes, and
            // picks would wait for the network again: the very thing the refresh is for.
            let freshness = Int(configuration.freshness.milliseconds)
            guard freshness > 0 else {
                // Every pick probes at freshness 0: a reading refreshed ahead could serve none.
                throw ConfigurationError(source: resolver.source(of: .probeInterval, given: probeIntervalMilliseconds != nil),
                                         value: String(value), expected: "no value with --freshness-ms 0, where every pick probes")
            }
            guard value < freshness else {
                throw ConfigurationError(source: resolver.source(of: .probeInterval, given: probeIntervalMilliseconds != nil),
                                         value: String(value), expected: "a whole number of ms under --freshness-ms (\(freshness))")
            }
            configuration.probeInterval = .milliseconds(value)
        }
        configuration.fall = try resolver.integer(.fall, fall) ?? configuration.fall
        configuration.rise = try resolver.integer(.rise, rise) ?? configuration.rise
        if let value = try resolver.integer(.downInterval, downIntervalMilliseconds) {
            configuration.downInterval = .milliseconds(value)
        }
        if let value = try resolver.integer(.reservationSettle, reservationSettleMilliseconds) {
            configuration.reservationSettle = .milliseconds(value)
        }
        if let value = try resolver.integer(.reservationTTL, reservationTTLMilliseconds) {
            configuration.reservationTTL = .milliseconds(value)
        }
        if let value = try resolver.integer(.slowStart, slowStartMilliseconds) {
            configuration.slowStart = .milliseconds(value)
        }
        configuration.maxHeldPercent = try resolver.integer(.maxHeldPercent, maxHeldPercent) ?? configuration.maxHeldPercent
        if let value = try resolver.integer(.requestTimeout, requestTimeoutMilliseconds) {
            configuration.requestTimeout = .milliseconds(value)
        }
        if let value = try resolver.integer(.idleTimeout, idleTimeoutMilliseconds) {
            configuration.idleTimeout = .milliseconds(value)
        }
        configuration.maxConnections = try resolver.integer(.maxConnections, maxConnections)
        configuration.probeCAFile = resolver.string(.probeCAFile, probeCAFile)
        if let value = try resolver.integer(.maxEventStreams, maximumEventStreams) {
            configuration.events.maximumStreams = value
        }
        if let level = resolver.string(.logLevel, logLevel) {
            guard ServeOption.logLevels.contains(level) else {
                throw ConfigurationError(source: resolver.source(of: .logLevel, given: logLevel != nil), value: level,
                                         expected: ServeOption.logLevels.joined(separator: ", "))
            }
            configuration.logLevel = level
        }
        configuration.adminToken = resolver.secret(ServeOption.adminTokenVariable)
        configuration.pickToken = resolver.secret(ServeOption.pickTokenVariable)
        configuration.clusterSecret = resolver.secret(ServeOption.clusterSecretVariable)
        configuration.clusterSecretPrevious = resolver.secret(ServeOption.previousClusterSecretVariable)
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

    /// A token from the environment variable `variable` only (never the command line, where
    /// `ps` would show it).
    func secret(_ variable: String) -> String? {
        environment[variable].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// `--option` or its variable, for `option` from the table.
    func source(of option: ServeOption, given: Bool) -> String {
        source(of: option.name, given: given)
    }

    /// A text option from the table: the command line's value, else its variable's.
    func string(_ option: ServeOption, _ given: String?) -> String? {
        string(option.name, given)
    }

    /// A whole-number option from the table, checked against the table's range.
    func integer(_ option: ServeOption, _ given: Int?) throws(ConfigurationError) -> Int? {
        guard let range = option.range else { preconditionFailure("--\(option.name) takes text, not a whole number") }
        return try integer(option.name, given, in: range)
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
