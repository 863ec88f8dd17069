import ArgumentParser
import Foundation
import Logging
import PostgresSettingsStore
import SettingsStore

/// `voxbridge-dispatch store copy --from PATH --to URL`: moves an install's SQLite fleet list and
/// its history into PostgreSQL, so several instances can share it.
struct StoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Move the settings between stores.",
        subcommands: [Copy.self]
    )

    /// `store copy`.
    struct Copy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy an SQLite settings file (list, version, history) into a PostgreSQL store.")

        @Option(help: "The SQLite settings database to copy from.")
        var from: String

        @Option(help: "The PostgreSQL store to copy to, postgres://USER@HOST:PORT/DATABASE.")
        var to: String

        @Flag(help: "Replace the list and history the target already holds.")
        var force = false

        func run() async throws {
            let environment = ProcessInfo.processInfo.environment
            let url: PostgresStoreURL
            do {
                url = try PostgresStoreURL(to, environment: environment)
            } catch {
                throw CommandLineFailure("--to: \(error.description)")
            }
            guard FileManager.default.fileExists(atPath: from) else {
                throw CommandLineFailure("--from: \(from) does not exist; nothing was copied")
            }
            let source = try CommandLineFailure.wrap { () throws(SettingsStoreError) in try SQLiteSettingsStore(path: from) }
            let (current, history) = try await CommandLineFailure.wrap { () async throws(SettingsStoreError) in
                (try await source.fleet(), try await source.history(limit: Int.max))
            }
            let logger = Logger(label: "voxbridge-dispatch-store", factory: { _ in SwiftLogNoOpLogHandler() })
            let target = try await CommandLineFailure.wrap { () async throws(SettingsStoreError) in
                try await PostgresSettingsStore(url: url, logger: logger)
            }
            try await FleetCommand.using(target) { () async throws(SettingsStoreError) in
                try await target.importFleet(current: current, history: history, replacingExisting: force)
            }
            let count = current.list.entries.count
            print("copied \(from) to \(url): version \(current.version), \(count == 1 ? "1 server" : "\(count) servers"), \(history.count) history \(history.count == 1 ? "entry" : "entries")")
        }
    }
}
