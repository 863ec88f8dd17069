import DispatchTestSupport
import Foundation

/// Runs the built `voxbridge-dispatch` executable, as an operator would.
struct DispatchProcess {
    /// The executable beside the test bundle in the build folder.
    static var executable: URL { ChildProcess.built("voxbridge-dispatch") }

    struct Result {
        var status: Int32
        var standardOutput: String
        var standardError: String
    }

    /// Runs to completion (bounded by `timeout`) without blocking a concurrency thread, for
    /// async tests whose fake fleet servers answer on those threads meanwhile.
    static func run(
        _ arguments: [String], environment: [String: String] = [:], timeout: Duration = .seconds(20)
    ) async throws -> Result {
        try await offThread { try runBlocking(arguments, environment: environment, timeout: timeout) }
    }

    /// Runs to completion (bounded by `timeout`) and returns what it printed; blocks the thread.
    /// With a `prefix` (such as `setpriv …`), runs `prefix + [executable] + arguments` instead.
    /// Only the `VOXBRIDGE_*` variables of `environment` reach it (``ChildProcess/prepare(_:_:prefix:environment:)``).
    static func runBlocking(
        _ arguments: [String], environment: [String: String] = [:], prefix: [String] = [],
        executable: String = executable.path, timeout: Duration = .seconds(20)
    ) throws -> Result {
        let process = ChildProcess.prepare(URL(fileURLWithPath: executable), arguments, prefix: prefix, environment: environment)
        let output = Pipe()
        let error = Pipe()
        process.standardOutput = output
        process.standardError = error
        try process.run()
        let deadline = ContinuousClock.now + timeout
        while process.isRunning, ContinuousClock.now < deadline { usleep(10_000) }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus,
            standardOutput: String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self),
            standardError: String(decoding: error.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
    }
}
