import DispatchTestSupport
import Foundation
@testable import VoxBridgeDispatch

/// A `voxbridge-dispatch serve --port N` child process for the command-line, fault, cluster and
/// slow-client tests, optionally started through a prefix command (e.g. `setpriv` to run it as
/// another user); ready once it logs the port it listens on (to a file, not a terminal: serve must
/// flush that line). Stopped (SIGTERM) at the latest when released.
final class ServeProcess: Sendable {
    /// The line serve logs once it listens, before the port.
    static let listeningMarker = "listening on http://127.0.0.1:"

    /// The child process.
    let child: ChildProcess
    /// The port it listens on.
    let port: Int

    /// Starts serve on `port` (0: a free one) and waits (at most 20 s, blocking this thread) for
    /// its "listening on" line.
    init(_ arguments: [String], port: Int = 0, prefix: [String] = [], executable: String = DispatchProcess.executable.path,
         environment: [String: String] = [:], logFile: String) throws {
        child = try ChildProcess(
            URL(fileURLWithPath: executable), ["serve", "--port", String(port)] + arguments, prefix: prefix,
            environment: environment, log: logFile, marker: Self.listeningMarker)
        guard let line = child.line(containing: Self.listeningMarker),
            let port = Int(line.split(separator: ":").last!.prefix { $0.isNumber })
        else {
            child.stop()
            throw CommandLineFailure("serve logged no port: \(child.output)")
        }
        self.port = port
    }

    /// `http://127.0.0.1:PORT`.
    var base: String { "http://127.0.0.1:\(port)" }

    /// The log file of everything serve wrote.
    var log: String { child.log }

    /// The running process, for its state and termination status.
    var process: Process { child.process }

    /// The process's identifier, for signals.
    var pid: pid_t { child.pid }

    /// Starts `count` instances, each waited for on a thread of its own (not a concurrency thread).
    static func start(count: Int, _ arguments: [String], logFile: @escaping @Sendable (Int) -> String) async throws -> [ServeProcess] {
        var started: [ServeProcess] = []
        for index in 0..<count {
            started.append(try await offThread { try ServeProcess(arguments, logFile: logFile(index)) })
        }
        return started
    }

    /// SIGKILL: no shutdown code runs.
    func kill9() { child.kill9() }

    /// SIGTERM, then SIGKILL after 10 s.
    func stop() { child.stop() }
}
