import Foundation

/// A child process of a test (the service, the simulated fleet, …), started from an executable
/// with the test's own `VOXBRIDGE_*` variables removed from its environment, so that only the
/// ones the test passes reach it; its output (standard output and error) goes to a log file, and
/// it counts as started once it writes a line containing a marker. It is stopped by its PID, at
/// the latest when the last reference goes.
///
/// Starting and stopping block the calling thread while they wait (polling every 20 ms); from
/// async code, ``start(_:_:prefix:environment:log:marker:timeout:)`` starts on a thread of its
/// own, and `offThread { child.stop() }` stops there.
public final class ChildProcess: @unchecked Sendable {
    // @unchecked: `process` is only touched by the test that owns the child, one call at a time.

    /// The running process, for its identifier, state and termination status.
    public let process: Process
    /// The log file holding everything the child wrote.
    public let log: String

    /// Every line the child wrote so far.
    public var output: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }

    /// The child's process identifier, for signals.
    public var pid: pid_t { process.processIdentifier }

    /// The build folder holding the test bundle and the package's executables.
    public static var binaries: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    }

    /// The package's executable `name` (such as `voxbridge-dispatch`) in ``binaries``.
    public static func built(_ name: String) -> URL { binaries.appendingPathComponent(name) }

    /// A process not yet run: `executable` with `arguments`, or through `/usr/bin/env` as
    /// `prefix + [executable] + arguments` when there is a `prefix` (such as `setpriv …`), with
    /// this process's environment less its `VOXBRIDGE_*` variables, plus `environment`.
    public static func prepare(
        _ executable: URL, _ arguments: [String], prefix: [String] = [], environment: [String: String] = [:]
    ) -> Process {
        let process = Process()
        if prefix.isEmpty {
            process.executableURL = executable
            process.arguments = arguments
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = prefix + [executable.path] + arguments
        }
        var variables = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("VOXBRIDGE_") }
        variables.merge(environment) { $1 }
        process.environment = variables
        return process
    }

    /// Starts the child (see ``prepare(_:_:prefix:environment:)``) with its output in `log`, and
    /// waits (at most `timeout`, blocking this thread) for a complete line containing `marker`.
    /// - Throws: ``StartFailure`` with the child's output when it exits or stays silent, after
    ///   stopping it.
    public init(
        _ executable: URL, _ arguments: [String], prefix: [String] = [], environment: [String: String] = [:],
        log: String, marker: String, timeout: Duration = .seconds(20)
    ) throws {
        self.log = log
        process = Self.prepare(executable, arguments, prefix: prefix, environment: environment)
        FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline, process.isRunning {
            if line(containing: marker) != nil { return }
            usleep(20_000)
        }
        stop()
        throw StartFailure(description: "\(executable.lastPathComponent) did not start:\n\(output)")
    }

    /// ``init(_:_:prefix:environment:log:marker:timeout:)`` on a thread of its own, so the wait
    /// holds no thread of Swift concurrency.
    public static func start(
        _ executable: URL, _ arguments: [String], prefix: [String] = [], environment: [String: String] = [:],
        log: String, marker: String, timeout: Duration = .seconds(20)
    ) async throws -> ChildProcess {
        try await offThread {
            try ChildProcess(executable, arguments, prefix: prefix, environment: environment, log: log, marker: marker, timeout: timeout)
        }
    }

    /// The first complete line (ended by a newline) containing `marker`.
    public func line(containing marker: String) -> String? {
        let text = output
        guard let end = text.lastIndex(of: "\n") else { return nil }
        return text[..<end].split(separator: "\n").first { $0.contains(marker) }.map(String.init)
    }

    /// SIGKILL: no shutdown code runs. Returns once the child has exited.
    public func kill9() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// SIGTERM, then SIGKILL after `grace`; returns once the child has exited (blocking this
    /// thread). Does nothing when it has exited already.
    public func stop(grace: Duration = .seconds(10)) {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        let deadline = ContinuousClock.now + grace
        while process.isRunning, ContinuousClock.now < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    deinit { stop() }

    /// Why a child did not start, with what it wrote.
    public struct StartFailure: Error, CustomStringConvertible {
        /// The executable's name and the child's output.
        public var description: String
    }
}
