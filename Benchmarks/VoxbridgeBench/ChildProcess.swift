import Foundation
import Synchronization

/// A child process (the sim or the dispatcher) whose output is read until a line says it is ready,
/// and which is always stopped by its PID: SIGTERM, then SIGKILL if it has not exited in 3 s.
final class ChildProcess: Sendable {
    struct StartError: Error, CustomStringConvertible {
        var description: String
    }

    /// The child's PID.
    let pid: Int32
    let name: String
    private let process: Mutex<Process>
    private let output = Mutex<String>("")
    private let stopped = Atomic<Bool>(false)

    /// Starts `executable` with `arguments` (standard output and error into one pipe) and waits
    /// up to `timeout` for a line containing `readyMarker`.
    /// - Returns: the child and the first line holding the marker.
    static func start(
        name: String, executable: String, arguments: [String], readyMarker: String,
        timeout: Duration = .seconds(30), environment extra: [String: String] = [:]
    ) async throws -> (ChildProcess, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        // The dispatcher reads VOXBRIDGE_* settings: keep the caller's out of the benchmark.
        process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("VOXBRIDGE_") }
            .merging(extra) { _, given in given }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw StartError(description: "\(name): cannot start \(executable): \(error)")
        }
        let child = ChildProcess(name: name, pid: process.processIdentifier, process: process)
        pipe.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if data.isEmpty {
                handle.readabilityHandler = nil
                return
            }
            child.output.withLock { text in
                text += String(decoding: data, as: UTF8.self)
                // Keep the tail only: a long run's log must not grow without bound.
                if text.utf8.count > 256 * 1024 { text = String(text.suffix(64 * 1024)) }
            }
        }
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let line = child.output.withLock({ $0.split(separator: "\n").first { $0.contains(readyMarker) } }) {
                return (child, String(line))
            }
            if !child.isRunning {
                let tail = child.outputTail
                throw StartError(description: "\(name) exited before it was ready:\n\(tail)")
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
        await child.stop()
        throw StartError(description: "\(name) not ready after \(timeout):\n\(child.outputTail)")
    }

    private init(name: String, pid: Int32, process: Process) {
        self.name = name
        self.pid = pid
        self.process = Mutex(process)
    }

    var isRunning: Bool { process.withLock { $0.isRunning } }

    /// The last lines the child wrote.
    var outputTail: String {
        output.withLock { $0.split(separator: "\n").suffix(20).joined(separator: "\n") }
    }

    /// Every line the child wrote so far (up to the last 64 KiB).
    var allOutput: String { output.withLock { $0 } }

    /// SIGTERM, then SIGKILL after 3 s; returns once the child has exited. Idempotent.
    func stop() async {
        guard !stopped.exchange(true, ordering: .sequentiallyConsistent) else { return }
        guard isRunning else { return }
        kill(pid, SIGTERM)
        let deadline = ContinuousClock.now + .seconds(3)
        while isRunning, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        if isRunning {
            kill(pid, SIGKILL)
            let killDeadline = ContinuousClock.now + .seconds(2)
            while isRunning, ContinuousClock.now < killDeadline {
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
    }
}

extension ChildProcess {
    /// Starts `voxbridge-dispatch serve` on a free loopback port with its database at `database`,
    /// ready at its "listening on" line; returns the child, its base URL and that line.
    static func startDispatcher(
        executable: String, database: String, arguments: [String] = []
    ) async throws -> (child: ChildProcess, baseURL: String, line: String) {
        let (child, line) = try await start(
            name: "voxbridge-dispatch", executable: executable,
            arguments: ["serve", "--host", "127.0.0.1", "--port", "0", "--db", database] + arguments,
            readyMarker: "listening on http://")
        guard let range = line.range(of: "http://") else {
            await child.stop()
            throw StartError(description: "no URL in \(line)")
        }
        return (child, String(line[range.lowerBound...].prefix { !$0.isWhitespace }), line)
    }

    /// The fleet server URLs a started `voxcore-sim` printed (its `server N URL` lines).
    var simServerURLs: [String] {
        allOutput.split(separator: "\n").filter { $0.hasPrefix("server ") }.compactMap { $0.split(separator: " ").last.map(String.init) }
    }
}
