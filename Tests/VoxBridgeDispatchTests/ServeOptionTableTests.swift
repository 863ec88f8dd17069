import FleetPicker
import Foundation
import HealthProber
import Testing
@testable import VoxBridgeDispatch

/// Holds README's Configuration table, `serve --help` and the configuration types' defaults to
/// ``ServeOption``, where each `serve` option is declared once, so none of them can drift.
@Suite("serve's option table")
struct ServeOptionTableTests {
    /// README.md beside the package.
    static let readmePath: String = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("README.md").path

    /// README's "Configuration" section, up to the next heading.
    static func configurationSection() throws -> Substring {
        let readme = try String(contentsOfFile: readmePath, encoding: .utf8)
        guard let start = readme.range(of: "\n## Configuration\n") else {
            Issue.record("README has no Configuration section")
            return ""
        }
        let rest = readme[start.upperBound...]
        return rest[..<(rest.range(of: "\n## ")?.lowerBound ?? rest.endIndex)]
    }

    /// The option rows of README's Configuration table as (name without `--`, variable,
    /// default), code formatting removed, in README's order. Columns are found by their headings.
    static func readmeRows() throws -> [(name: String, variable: String, defaultText: String)] {
        // An escaped `\|` inside a cell is text, not a column break.
        let cells = { (line: Substring) in
            line.replacingOccurrences(of: "\\|", with: "¦").split(separator: "|")
                .map { $0.replacingOccurrences(of: "`", with: "").trimmingCharacters(in: .whitespaces) }
        }
        let lines = try configurationSection().split(separator: "\n")
        guard let header = lines.first(where: { $0.hasPrefix("| option |") }).map(cells),
            let nameColumn = header.firstIndex(of: "option"), let variableColumn = header.firstIndex(of: "environment"),
            let defaultColumn = header.firstIndex(of: "default")
        else {
            Issue.record("README's Configuration table needs the columns option, environment and default")
            return []
        }
        return lines.filter { $0.hasPrefix("| `--") }.map(cells).map { row in
            (String(row[nameColumn].dropFirst(2)), row[variableColumn], row[defaultColumn])
        }
    }

    @Test("README's Configuration table has each option, with its variable and default, in the table's order")
    func readmeMatchesTable() throws {
        let rows = try Self.readmeRows()
        for option in ServeOption.all {
            guard let row = rows.first(where: { $0.name == option.name }) else {
                Issue.record("README's Configuration table has no row for --\(option.name)")
                continue
            }
            #expect(row.variable == option.variable, "--\(option.name)")
            #expect(row.defaultText == option.defaultText, "--\(option.name)")
        }
        for row in rows {
            #expect(ServeOption.all.contains { $0.name == row.name }, "README lists --\(row.name), which serve does not have")
        }
        #expect(rows.map(\.name) == ServeOption.all.map(\.name))
    }

    @Test("each variable is VOXBRIDGE_ + the name in capitals, and no name is declared twice")
    func variables() {
        #expect(ServeOption.probeTimeout.variable == "VOXBRIDGE_PROBE_TIMEOUT_MS")
        #expect(Set(ServeOption.all.map(\.name)).count == ServeOption.all.count)
    }

    @Test("the tokens come from the environment only: README names them, serve reads them, no option takes them")
    func tokens() throws {
        let section = try Self.configurationSection()
        for variable in ServeOption.tokenVariables {
            #expect(section.contains("`\(variable)`"), "README's Configuration section does not name \(variable)")
            #expect(!ServeOption.all.contains { $0.variable == variable })
        }
        let configuration = try ServeOptions.parse([]).resolve(
            environment: [ServeOption.adminTokenVariable: "admin", ServeOption.pickTokenVariable: "pick"])
        #expect(configuration.adminToken == "admin")
        #expect(configuration.pickToken == "pick")
        #expect(throws: (any Error).self) { try ServeOptions.parse(["--admin-token", "admin"]) }
        #expect(throws: (any Error).self) { try ServeOptions.parse(["--pick-token", "pick"]) }
    }

    @Test("each default shown is the one serve, the picker and the prober use")
    func defaults() throws {
        let defaults = DispatchConfiguration()
        #expect(try ServeOptions.parse([]).resolve(environment: [:]) == defaults)
        // The picker's and the prober's own defaults are serve's.
        #expect(defaults.pickerConfiguration == FleetPickerConfiguration())
        #expect(defaults.proberConfiguration.timeout == ProberConfiguration().timeout)
        #expect(defaults.proberConfiguration.caFile == ProberConfiguration().caFile)

        // Defaults told in words rather than as a value.
        let described: [String: Bool] = [
            ServeOption.store.name: defaults.settingsStore == .sqlite(path: ServeOption.db.defaultText),
            ServeOption.advertiseURL.name: defaults.advertiseURL == nil,
            ServeOption.probeInterval.name: defaults.probeInterval == nil
                && defaults.pickerConfiguration.refreshInterval == .milliseconds(Int(ServeOption.freshness.defaultText) ?? -1) * 0.6,
            ServeOption.probeCAFile.name: defaults.probeCAFile == nil,
            ServeOption.maxConnections.name: defaults.maxConnections == nil
                && defaults.connectionConfiguration(fileLimit: 4_096).maxConnections < 4_096,
        ]
        for (name, holds) in described {
            #expect(holds, "--\(name)")
        }
        // Every other default is a value: giving it, on the command line or in the environment,
        // changes nothing.
        for option in ServeOption.all where described[option.name] == nil {
            #expect(try ServeOptions.parse(["--\(option.name)", option.defaultText]).resolve(environment: [:]) == defaults,
                    "--\(option.name) \(option.defaultText)")
            #expect(try ServeOptions.parse([]).resolve(environment: [option.variable: option.defaultText]) == defaults,
                    "\(option.variable)=\(option.defaultText)")
        }
    }

    @Test("each range is the one serve enforces; the error names the option or its variable")
    func ranges() throws {
        // The ranges as they were before the table, pinned so that a change to one is deliberate.
        let pinned: [String: ClosedRange<Int>] = [
            "port": 0...65_535, "probe-timeout-ms": 1...600_000, "freshness-ms": 0...3_600_000, "probe-interval-ms": 1...3_600_000,
            "fall": 1...1_000, "rise": 1...1_000, "down-interval-ms": 1...3_600_000, "reservation-settle-ms": 0...3_600_000,
            "reservation-ttl-ms": 1...3_600_000, "slow-start-ms": 0...3_600_000, "max-held-percent": 0...100,
            "request-timeout-ms": 100...3_600_000, "idle-timeout-ms": 100...86_400_000, "max-connections": 1...1_048_576,
            "max-event-streams": 0...10_000,
        ]
        #expect(Dictionary(uniqueKeysWithValues: ServeOption.all.compactMap { option in option.range.map { (option.name, $0) } }) == pinned)
        for option in ServeOption.all {
            guard let range = option.range else { continue }
            for value in [range.lowerBound - 1, range.upperBound + 1] {
                let expected = "\"\(value)\" is not valid; expected a whole number from \(range.lowerBound) to \(range.upperBound)"
                let given = #expect(throws: CommandLineFailure.self) {
                    try ServeOptions.parse(["--\(option.name)=\(value)"]).resolve(environment: [:])
                }
                #expect(given?.description == "--\(option.name): \(expected)")
                let fromEnvironment = #expect(throws: CommandLineFailure.self) {
                    try ServeOptions.parse([]).resolve(environment: [option.variable: String(value)])
                }
                #expect(fromEnvironment?.description == "\(option.variable): \(expected)")
            }
        }
        let level = #expect(throws: CommandLineFailure.self) {
            try ServeOptions.parse(["--\(ServeOption.logLevel.name)", "loud"]).resolve(environment: [:])
        }
        #expect(level?.description == "--log-level: \"loud\" is not valid; expected trace, debug, info, notice, warning, error, critical")
    }

    @Test("serve --help lists every option with its help, default and variable")
    func help() async throws {
        let result = try await DispatchProcess.run(["serve", "--help"])
        #expect(result.status == 0, "\(result.standardError)")
        // --help wraps its lines; compare with the white space run together.
        let words = { (text: String) in text.split(whereSeparator: \.isWhitespace).joined(separator: " ") }
        let help = words(result.standardOutput)
        for option in ServeOption.all {
            #expect(help.contains("--\(option.name) <"), "--\(option.name) is missing from --help")
            #expect(help.contains(words(option.helpText.abstract)), "--\(option.name)'s help is missing from --help")
            #expect(help.contains("(default \(option.defaultText); env \(option.variable))"))
        }
    }
}
