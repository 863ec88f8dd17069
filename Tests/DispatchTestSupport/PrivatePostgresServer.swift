import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A PostgreSQL server of one test's own, in a temporary folder on a free loopback port, that the
/// test may stop and start (the shared test server must stay up for the other tests).
///
/// PostgreSQL refuses to run as root, so it runs as the `postgres` user through `runuser`: this
/// needs root and Debian's `postgresql` package, as `make test` in CI has.
public final class PrivatePostgresServer: @unchecked Sendable {
    /// Debian's PostgreSQL binaries.
    public static let binaries = ProcessInfo.processInfo.environment["VOXBRIDGE_TEST_POSTGRES_BIN"] ?? "/usr/lib/postgresql/15/bin"

    /// Whether this machine can run one: root, `runuser` and the PostgreSQL binaries.
    public static var canRun: Bool {
        getuid() == 0 && FileManager.default.isExecutableFile(atPath: binaries + "/pg_ctl")
            && FileManager.default.isExecutableFile(atPath: "/usr/sbin/runuser")
    }

    /// The loopback port it listens on.
    public let port: Int
    /// `postgres://voxbridge@127.0.0.1:PORT/postgres`.
    public var url: String { "postgres://voxbridge@127.0.0.1:\(port)/postgres" }
    private let folder: String

    /// Creates the cluster (initdb, about 1 s) and starts the server.
    public init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("voxbridge-pg-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        port = try LoopbackSocket.freePort()
        try Self.run(["chown", "postgres:postgres", folder])
        try Self.run(["runuser", "-u", "postgres", "--", Self.binaries + "/initdb", "-D", folder + "/data", "-A", "trust", "-U", "voxbridge"])
        try start()
    }

    /// Starts the server and waits until it accepts connections.
    public func start() throws {
        try Self.run(["runuser", "-u", "postgres", "--", Self.binaries + "/pg_ctl", "-D", folder + "/data",
                      "-o", "-k \(folder) -c listen_addresses=127.0.0.1 -p \(port)", "-l", folder + "/log", "-w", "start"])
    }

    /// Stops the server at once (`-m fast`: connections are closed, nothing committed is lost).
    public func stop() throws {
        try Self.run(["runuser", "-u", "postgres", "--", Self.binaries + "/pg_ctl", "-D", folder + "/data", "-m", "fast", "-w", "stop"])
    }

    /// Stops the server as a crash would (`-m immediate`: no shutdown checkpoint, recovery from
    /// the log at the next start; nothing committed is lost). Unlike `-m fast` it does not wait
    /// for backends, which a client that stopped reading can hold in a write.
    public func crash() throws {
        try Self.run(["runuser", "-u", "postgres", "--", Self.binaries + "/pg_ctl", "-D", folder + "/data", "-m", "immediate", "-w", "stop"])
    }

    deinit {
        try? stop()
        try? FileManager.default.removeItem(atPath: folder)
    }

    /// Runs a command to completion (at most 60 s); throws with its output when it fails.
    ///
    /// `posix_spawn` and `waitpid`, not Foundation's `Process`: `pg_ctl start` leaves the server
    /// running with whatever it inherited, and `Process` was seen to wait for a `runuser` that had
    /// already exited. The output goes to a file, not a pipe the server would keep open.
    static func run(_ arguments: [String]) throws {
        let outputPath = FileManager.default.temporaryDirectory.appendingPathComponent("voxbridge-pg-run-\(UUID().uuidString).log").path
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv: [UnsafeMutablePointer<CChar>?] = (["/usr/bin/env"] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, "/usr/bin/env", &actions, nil, argv, environ)
        guard spawned == 0 else { throw PostgresTestError("cannot run \(arguments.joined(separator: " ")): error \(spawned)") }
        var status: Int32 = 0
        let deadline = Date.now.addingTimeInterval(60)
        while waitpid(pid, &status, WNOHANG) == 0 {
            if Date.now > deadline {
                kill(pid, SIGKILL)
                waitpid(pid, &status, 0)
                throw PostgresTestError("\(arguments.joined(separator: " ")) did not finish within 60 s")
            }
            usleep(10_000)
        }
        // Exited normally with status 0: the low 7 bits (the signal) and the exit code all zero.
        guard status == 0 else {
            let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
            throw PostgresTestError("\(arguments.joined(separator: " ")) failed (wait status \(status)): \(text)")
        }
    }
}
