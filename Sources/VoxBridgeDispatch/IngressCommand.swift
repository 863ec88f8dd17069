import ArgumentParser
import Foundation
import IngressSync
import Logging
import PostgresSettingsStore
import ServiceLifecycle
import SettingsStore

/// `voxbridge-dispatch ingress sync|status`: the inbound path (an HAProxy backend) kept equal to
/// the fleet list and its operator states, through HAProxy's Runtime API.
struct IngressCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingress",
        abstract: "Keep an HAProxy backend's servers equal to the fleet list (sync), or print how they differ (status).",
        subcommands: [Sync.self, Status.self]
    )

    /// The options both subcommands take.
    struct Options: ParsableArguments {
        @Option(help: "HAProxy's admin socket (`stats socket PATH level admin`).")
        var haproxySocket: String
        @Option(help: "The HAProxy backend whose servers follow the list.")
        var backend: String
        @OptionGroup var database: FleetCommand.DatabaseOption
        @Option(help: "Follow these dispatchers' GET /v1/fleet/events instead of a store (URL[,URL…], tried in turn; pick token from VOXBRIDGE_PICK_TOKEN).")
        var dispatcher: String?
        @Option(help: "HAProxy `add server` keywords of each server (default: \"\(IngressConfiguration.defaultServerOptions)\"; https entries add TLS with the system's CAs and the host's SNI).")
        var serverOptions: String?
        @Option(name: .customLong("up-timeout-ms"), help: "How long an added server may take to pass a check before it is put in maintenance (default 30000).")
        var upTimeoutMilliseconds: Int = 30_000
        @Option(name: .customLong("remove-timeout-ms"), help: "How long a server no longer listed drains before it is removed with its sessions (default 3600000).")
        var removeTimeoutMilliseconds: Int = 3_600_000
        @Option(help: "The file holding the backend section and the managed server lines (default /etc/haproxy/voxbridge-BACKEND.cfg).")
        var serversFile: String?
        @Option(name: .customLong("haproxy-config"), help: "HAProxy's other configuration files, for `haproxy -c` (repeatable; default /etc/haproxy/haproxy.cfg).")
        var haproxyConfigs: [String] = []
        @Option(help: "The sync's status file, read by `ingress status` (default /var/lib/voxbridge-dispatch/ingress-BACKEND.json).")
        var statusFile: String?
        @Option(help: "The name this ingress records its view under (default HOSTNAME/BACKEND).")
        var ingressName: String?

        func validate() throws {
            guard !backend.isEmpty, backend.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.:".contains($0)) }) else {
                throw ValidationError("--backend: \"\(backend)\" is not an HAProxy backend name")
            }
            guard upTimeoutMilliseconds > 0, removeTimeoutMilliseconds >= 0 else {
                throw ValidationError("--up-timeout-ms must be positive and --remove-timeout-ms not negative")
            }
            if dispatcher != nil, database.db != nil || database.store != nil {
                throw ValidationError("--dispatcher and --db/--store name two sources of the list; give one")
            }
            if let ingressName, ingressName.isEmpty || ingressName.count > IngressView.maximumNameLength {
                throw ValidationError("--ingress-name must have 1 to \(IngressView.maximumNameLength) characters")
            }
        }

        var configuration: IngressConfiguration {
            IngressConfiguration(
                backend: backend, socketPath: haproxySocket, serversFile: serversFile,
                haproxyConfigs: haproxyConfigs.isEmpty ? ["/etc/haproxy/haproxy.cfg"] : haproxyConfigs,
                serverOptions: serverOptions ?? IngressConfiguration.defaultServerOptions,
                upTimeout: .milliseconds(upTimeoutMilliseconds), removeTimeout: .milliseconds(removeTimeoutMilliseconds),
                statusFile: statusFile, ingressName: ingressName)
        }

        /// The dispatchers of `--dispatcher`, each checked.
        func dispatchers() throws(CommandLineFailure) -> [String]? {
            guard let dispatcher else { return nil }
            let urls = dispatcher.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            for url in urls where !(url.hasPrefix("http://") || url.hasPrefix("https://")) || URL(string: url)?.host == nil {
                throw CommandLineFailure("--dispatcher: \"\(url)\" is not an http(s) URL")
            }
            guard !urls.isEmpty else { throw CommandLineFailure("--dispatcher: no URL given") }
            return urls
        }

        static var pickToken: String? {
            ProcessInfo.processInfo.environment["VOXBRIDGE_PICK_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        }
    }

    /// `ingress sync`.
    struct Sync: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Keep the backend equal to the list and its operator states until stopped (SIGTERM).")
        @OptionGroup var options: Options
        @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.") var logLevel = "info"

        func run() async throws {
            let logger = makeLogger(level: logLevel)
            let configuration = options.configuration
            let source: any IngressListSource
            var recorder: (@Sendable (IngressView) async throws -> Void)?
            var store: (any FleetSettingsStore)?
            if let dispatchers = try options.dispatchers() {
                source = DispatcherListSource(dispatchers: dispatchers, token: Options.pickToken, logger: logger)
            } else {
                let opened = try await options.database.open()
                let feed = try await CommandLineFailure.wrap { () async throws(SettingsStoreError) in try await opened.makeChangeFeed() }
                source = StoreListSource(feed: feed, logger: logger)
                recorder = { view in try await opened.recordIngressView(view) }
                store = opened
            }
            let sync = IngressSync(configuration: configuration, source: source, recorder: recorder, logger: logger)
            do {
                try sync.verify()
            } catch {
                await store?.close()
                throw CommandLineFailure(error.description)
            }
            logger.notice("ingress sync: backend \(configuration.backend) on \(configuration.socketPath), servers file \(configuration.serversFile)")
            let group = ServiceGroup(configuration: .init(
                services: [sync], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            try await group.run()
            await store?.close()
        }
    }

    /// `ingress status`.
    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print how the backend differs from the list, one line each: exit 0 in step, 2 not, 1 on an error.")
        @OptionGroup var options: Options
        @Flag(help: "Servers by HAProxy state, differences, changes applied, failures and seconds out of step, as JSON.") var json = false

        func run() async throws {
            let list: IngressList
            if let dispatchers = try options.dispatchers() {
                let source = DispatcherListSource(dispatchers: dispatchers, token: Options.pickToken,
                                                  logger: Logger(label: "ingress", factory: { _ in SwiftLogNoOpLogHandler() }))
                do {
                    list = try await source.fetchOnce()
                } catch {
                    throw CommandLineFailure("\(error)")
                }
            } else {
                let store = try await options.database.open()
                let setting = try await FleetCommand.using(store) { () async throws(SettingsStoreError) in try await store.fleet() }
                list = IngressList(urls: setting.list.urls, operatorStates: setting.admin.records.mapValues(\.state.rawValue), version: setting.version)
            }
            let report = try CommandLineFailure.wrap { () throws(IngressError) in
                try IngressStatusReport.make(configuration: options.configuration, list: list)
            }
            if json {
                FileHandle.standardOutput.write(report.json() + Data("\n".utf8))
            } else {
                for line in report.lines { print(line) }
            }
            if report.exitCode != 0 { throw ExitCode(report.exitCode) }
        }
    }
}
