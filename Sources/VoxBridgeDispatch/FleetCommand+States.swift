import ArgumentParser
import FleetPicker
import Foundation
import HealthProber
import SettingsStore

extension FleetCommand {
    /// What `fleet drain|maintenance|resume` share: the server, why, who, and the store.
    struct StateChange: ParsableArguments {
        @Argument(help: "The fleet server's URL, as listed (it is normalised first).") var url: String
        @Option(help: "Why, at most 200 characters; shown on the page and in GET /v1/fleet/admin.") var reason: String?
        @Option(help: "Who (default: the user running the command).") var by: String?
        @OptionGroup var database: DatabaseOption

        /// Stores `state` for the server and prints the record; a URL not listed is an error.
        func apply(_ state: FleetAdminState) async throws(CommandLineFailure) -> FleetAdminRecord {
            let user = by ?? ProcessInfo.processInfo.environment["USER"].flatMap { $0.isEmpty ? nil : $0 } ?? "cli"
            let change = try CommandLineFailure.wrap { () throws(FleetAdminChangeError) in
                try FleetAdminChange(url: url, state: state.rawValue, reason: reason, by: user)
            }
            let store = try await database.open()
            let record = try await FleetCommand.using(store) { () async throws(SettingsStoreError) in
                try await store.setAdminState(change, actor: .cli)
            }
            print("\(record.url) is \(record.state.rawValue) (by \(record.by)" + (record.reason.map { ": \($0)" } ?? "") + ")")
            return record
        }
    }

    /// `fleet drain URL [--wait]`.
    struct Drain: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "No new dialouts to a server; calls in progress finish. With --wait, until its calls reach zero.",
            discussion: "--wait polls the server's own /health/fleet and exits 0 once it has reported no active calls for --quiet-ms; at --timeout it exits 2 with the calls left; any error exits 1.")
        @OptionGroup var change: StateChange
        @Flag(help: "Wait until the server reports no active calls for --quiet-ms.") var wait = false
        @Option(help: "With --wait: give up after this many seconds, exit status 2 (default 900).") var timeout = 900
        @Option(name: .customLong("quiet-ms"), help: "With --wait: how long no calls must be reported, in ms (default 2000).")
        var quietMilliseconds = 2_000

        func run() async throws {
            guard (1...86_400).contains(timeout) else { throw CommandLineFailure("--timeout: \"\(timeout)\" is not valid; expected seconds from 1 to 86400") }
            guard (0...600_000).contains(quietMilliseconds) else {
                throw CommandLineFailure("--quiet-ms: \"\(quietMilliseconds)\" is not valid; expected a whole number from 0 to 600000")
            }
            guard !wait || quietMilliseconds < timeout * 1_000 else {
                throw CommandLineFailure("--quiet-ms \(quietMilliseconds) is not under --timeout \(timeout) s: the wait could never end drained")
            }
            let record = try await change.apply(.draining)
            if wait { try await FleetCommand.waitForDrain(record.url, quiet: .milliseconds(quietMilliseconds), timeout: .seconds(timeout)) }
        }
    }

    /// `fleet maintenance URL`.
    struct Maintenance: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "No dialouts to a server; its failing probes raise no alarm.")
        @OptionGroup var change: StateChange

        func run() async throws { _ = try await change.apply(.maintenance) }
    }

    /// `fleet resume URL`.
    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A drained server or one in maintenance takes calls again.")
        @OptionGroup var change: StateChange

        func run() async throws { _ = try await change.apply(.active) }
    }

    /// Polls `url`'s `/health/fleet` every 200 ms, printing the calls left as they change, until
    /// ``DrainWatch`` says drained (returns) or timed out (exit status 2).
    static func waitForDrain(_ url: String, quiet: Duration, timeout: Duration) async throws {
        let prober: HealthProber
        do {
            prober = try HealthProber(configuration: ProberConfiguration(timeout: .seconds(2)))
        } catch {
            throw CommandLineFailure("cannot probe \(url): \(error)")
        }
        defer { prober.shutdown() }
        let clock = ContinuousClock()
        var watch = DrainWatch(start: clock.now, quiet: quiet, timeout: timeout)
        var shown: Int?? = .none
        while true {
            let calls: Int? = if case .success(let report) = await prober.probe(url) { report.activeCalls } else { nil }
            switch watch.observe(activeCalls: calls, at: clock.now) {
            case .drained:
                print("\(url) has had no calls for \(Int(quiet.milliseconds)) ms: drained")
                return
            case .timedOut(let left):
                throw CommandLineFailure("\(url) still has \(left.map(String.init) ?? "an unknown number of") calls after \(Int(timeout.milliseconds / 1_000)) s; it stays draining", exitCode: 2)
            case .waiting(let left):
                if shown != .some(left) {
                    print("\(url): \(left.map(String.init) ?? "no answer, unknown") calls left")
                    shown = .some(left)
                }
            }
            try await Task.sleep(for: .milliseconds(200))
        }
    }
}
