import Foundation

/// A child process (voxcore-sim or voxbridge-dispatch) started from the build folder beside the
/// test bundle, its output in a log file, ready at a marker line; always stopped by its PID.
final class ChildProcess: @unchecked Sendable {
    // @unchecked: `process` is only touched by the test that owns the child, one call at a time.
    private let process = Process()
    let log: String
    /// Every line the child wrote so far.
    var output: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }

    /// The build folder holding the test bundle and the package's executables.
    static var binaries: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    }

    /// Starts `binaries/executable arguments` with the `VOXBRIDGE_*` variables of `environment`
    /// only, and waits (at most 20 s) for a line containing `marker`.
    init(_ executable: String, _ arguments: [String], environment: [String: String] = [:], marker: String, log: String) async throws {
        self.log = log
        process.executableURL = Self.binaries.appendingPathComponent(executable)
        process.arguments = arguments
        var variables = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("VOXBRIDGE_") }
        variables.merge(environment) { $1 }
        process.environment = variables
        FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline, process.isRunning {
            if output.contains(marker) { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        await stop()
        throw HarnessError("\(executable) did not start:\n\(output)")
    }

    /// The first line containing `marker`.
    func line(containing marker: String) -> String? {
        output.split(separator: "\n").first { $0.contains(marker) }.map(String.init)
    }

    /// SIGTERM by PID, then SIGKILL after 5 s; returns once the child has exited.
    func stop() async {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        let deadline = ContinuousClock.now + .seconds(5)
        while process.isRunning, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        while process.isRunning { try? await Task.sleep(for: .milliseconds(20)) }
    }
}

/// A harness failure, with what the child said.
struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
