import ArgumentParser
import DispatchHTTPServer
import Foundation
import Logging
import PostgresSettingsStore
import SettingsStore

/// `voxbridge-dispatch fleet list|add|remove`: the operators' way to change the fleet list from a
/// shell or a script. Each change is a settings write like a PUT (the version rises and the
/// history keeps it), and a running `serve` uses it on its next pick.
struct FleetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fleet",
        abstract: "List, add or remove fleet servers, or drain, maintain and resume one, in the settings store (SQLite or PostgreSQL).",
        subcommands: [List.self, Add.self, Remove.self, Drain.self, Maintenance.self, Resume.self]
    )

    /// "1 server", "3 servers".
    static func serverCount(_ setting: FleetSetting) -> String {
        let count = setting.list.entries.count
        return count == 1 ? "1 server" : "\(count) servers"
    }

    /// Validates and normalises a URL given on the command line.
    static func entry(_ url: String) throws(CommandLineFailure) -> FleetEntry {
        do {
            return try FleetEntry(url)
        } catch {
            throw CommandLineFailure("invalid fleet server URL \"\(url)\": \(error.reason)")
        }
    }

    /// The `--db` and `--store` options shared by the fleet subcommands.
    struct DatabaseOption: ParsableArguments {
        @Option(help: "SQLite settings database (default: VOXBRIDGE_DB or voxbridge.sqlite).")
        var db: String?

        @Option(help: "PostgreSQL settings store postgres://USER@HOST:PORT/DATABASE (default: VOXBRIDGE_STORE); instead of --db.")
        var store: String?

        func open() async throws(CommandLineFailure) -> any FleetSettingsStore {
            let location = try CommandLineFailure.wrap { () throws(SettingsStoreLocationError) in
                try SettingsStoreLocation.resolve(
                    db: db, store: store, environment: ProcessInfo.processInfo.environment, defaultPath: DispatchConfiguration.defaultDatabasePath)
            }
            // postgres-nio logs nothing the command's one line does not already say.
            let logger = Logger(label: "voxbridge-dispatch-fleet", factory: { _ in SwiftLogNoOpLogHandler() })
            return try await CommandLineFailure.wrap { () async throws(SettingsStoreError) in try await location.open(logger: logger) }
        }
    }

    /// Runs `body` on `store` and closes it, also when `body` fails.
    static func using<T>(_ store: any FleetSettingsStore, _ body: () async throws(SettingsStoreError) -> T) async throws(CommandLineFailure) -> T {
        let result: Result<T, SettingsStoreError>
        do {
            result = .success(try await body())
        } catch {
            result = .failure(error)
        }
        await store.close()
        return try CommandLineFailure.wrap { () throws(SettingsStoreError) in try result.get() }
    }

    /// `fleet list`: one entry a line.
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the fleet list, one URL a line; --long adds each server's operator state, reason, by and since.")
        @OptionGroup var database: DatabaseOption
        @Flag(help: "Each server with its operator state, reason, by and since (tab-separated).") var long = false

        func run() async throws {
            let store = try await database.open()
            let setting = try await FleetCommand.using(store) { () async throws(SettingsStoreError) in try await store.fleet() }
            for url in setting.list.urls {
                guard long else { print(url); continue }
                let record = setting.admin.records[url]
                print([url, record?.state.rawValue ?? "active", record?.reason ?? "-", record?.by ?? "-", record?.since ?? "-"].joined(separator: "\t"))
            }
        }
    }

    /// `fleet add URL [--verify]`.
    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a fleet server URL (already listed: nothing changes).")
        @Argument(help: "The fleet server's base URL, e.g. https://fleet-2.example.com") var url: String
        @OptionGroup var database: DatabaseOption
        @Flag(help: "Probe URL/health/fleet first and refuse a server that does not answer healthy.")
        var verify = false
        @Option(name: .customLong("probe-timeout-ms"), help: "Bound on the --verify probe in ms (default: VOXBRIDGE_PROBE_TIMEOUT_MS or 500).")
        var probeTimeoutMilliseconds: Int?
        @Option(name: .customLong("probe-ca-file"), help: "PEM file of CAs trusted for --verify (default: VOXBRIDGE_PROBE_CA_FILE or the system's).")
        var probeCAFile: String?

        func run() async throws {
            let entry = try FleetCommand.entry(url)
            var verification: String?
            if verify {
                // serve's defaults and environment, for the two options a probe uses.
                let resolver = ConfigurationResolver(environment: ProcessInfo.processInfo.environment)
                var configuration = DispatchConfiguration()
                if let timeout = try CommandLineFailure.wrap({ () throws(ConfigurationError) in
                    try resolver.integer("probe-timeout-ms", probeTimeoutMilliseconds, in: 1...600_000)
                }) {
                    configuration.probeTimeout = .milliseconds(timeout)
                }
                configuration.probeCAFile = resolver.string("probe-ca-file", probeCAFile)
                verification = try await FleetVerifier.verify(entry, configuration: configuration.proberConfiguration)
            }
            let store = try await database.open()
            let result = try await FleetCommand.using(store) { () async throws(SettingsStoreError) in
                try await store.addFleetEntry(entry, actor: .cli)
            }
            switch result {
            case .added(let setting):
                print("added \(entry.url) (version \(setting.version), \(FleetCommand.serverCount(setting)))"
                      + (verification.map { "; \($0)" } ?? ""))
            case .alreadyListed(let setting):
                print("\(entry.url) is already listed; nothing changed (version \(setting.version))")
            case .listFull:
                throw CommandLineFailure("the fleet list already has \(FleetList.maximumCount) servers, the most allowed; nothing changed")
            }
        }
    }

    /// `fleet remove URL`.
    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a fleet server URL (not listed: an error).")
        @Argument(help: "The fleet server's base URL, as listed (it is normalised first).") var url: String
        @OptionGroup var database: DatabaseOption

        func run() async throws {
            let entry = try FleetCommand.entry(url)
            let store = try await database.open()
            let removed = try await FleetCommand.using(store) { () async throws(SettingsStoreError) in
                try await store.removeFleetEntry(entry, actor: .cli)
            }
            guard let setting = removed else {
                throw CommandLineFailure("\(entry.url) is not in the fleet list; nothing changed")
            }
            print("removed \(entry.url) (version \(setting.version), \(FleetCommand.serverCount(setting)))")
        }
    }
}
