import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import PostgresTestSupport
@testable import VoxBridgeDispatch

/// A `voxbridge-dispatch serve --port 0` child process for the fault tests, optionally started
/// through a prefix command (e.g. `setpriv` to run it as another user).
final class ServeProcess {
    let process = Process()
    private(set) var port = 0
    let log: String

    /// Starts serve on `port` (0: a free one) and waits (at most 20 s) for its "listening on" line.
    init(_ arguments: [String], port: Int = 0, prefix: [String] = [], executable: String = DispatchProcess.executable.path,
         environment: [String: String] = [:], logFile: String) throws {
        log = logFile
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = prefix + [executable, "serve", "--port", String(port)] + arguments
        var processEnvironment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("VOXBRIDGE_") }
        processEnvironment.merge(environment) { $1 }
        process.environment = processEnvironment
        FileManager.default.createFile(atPath: logFile, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: logFile))
        process.standardOutput = handle
        process.standardError = handle
        try process.run()

        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline, process.isRunning {
            let text = (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? ""
            if let line = text.split(separator: "\n").first(where: { $0.contains("listening on http://127.0.0.1:") }),
                let port = Int(line.split(separator: ":").last!.prefix { $0.isNumber }) {
                self.port = port
                return
            }
            usleep(20_000)
        }
        stop()
        throw CommandLineFailure("serve did not start: \((try? String(contentsOfFile: logFile, encoding: .utf8)) ?? "")")
    }

    var base: String { "http://127.0.0.1:\(port)" }

    /// Starts `count` instances, each waited for on a thread of its own (not a concurrency thread).
    static func start(count: Int, _ arguments: [String], logFile: @escaping @Sendable (Int) -> String) async throws -> [ServeProcess] {
        var started: [ServeProcess] = []
        for index in 0..<count {
            let process = try await offThread { UncheckedBox(try ServeProcess(arguments, logFile: logFile(index))) }
            started.append(process.value)
        }
        return started
    }

    /// The process's identifier, for signals.
    var pid: pid_t { process.processIdentifier }

    /// SIGKILL: no shutdown code runs.
    func kill9() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// SIGTERM, then SIGKILL after 10 s.
    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = ContinuousClock.now + .seconds(10)
        while process.isRunning, ContinuousClock.now < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    deinit { stop() }
}

/// Carries a value that is not `Sendable` out of the thread that made it, which no longer uses it.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// A bounded HTTP call over a real socket.
struct HTTPAnswer: Sendable {
    var status: Int
    var headers: [String: String]
    var body: Data
    var json: [String: Any] { VoxBridgeDispatchTests.json(body) }

    /// A header's value, whatever the case of its name.
    func header(_ name: String) -> String? {
        headers.first { $0.key.caseInsensitiveCompare(name) == .orderedSame }?.value
    }
}

func send(_ method: String, _ url: String, body: String? = nil, headers: [String: String] = [:], timeout: TimeInterval = 10) async throws -> HTTPAnswer {
    var request = URLRequest(url: URL(string: url)!, timeoutInterval: timeout)
    request.httpMethod = method
    if let body {
        request.httpBody = Data(body.utf8)
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
    }
    for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
    let (data, response) = try await URLSession.shared.data(for: request)
    let http = response as! HTTPURLResponse
    var fields: [String: String] = [:]
    for (name, value) in http.allHeaderFields { fields["\(name)"] = "\(value)" }
    return HTTPAnswer(status: http.statusCode, headers: fields, body: data)
}

/// Runs a system command to completion (bounded) and returns its exit status.
@discardableResult
func system(_ arguments: [String], timeout: Duration = .seconds(20)) -> Int32 {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    guard (try? process.run()) != nil else { return -1 }
    let deadline = ContinuousClock.now + timeout
    while process.isRunning, ContinuousClock.now < deadline { usleep(10_000) }
    if process.isRunning { process.terminate() }
    process.waitUntilExit()
    return process.terminationStatus
}

/// What this machine lets the fault tests do.
enum FaultEnvironment {
    static let isRoot = getuid() == 0

    /// Whether a small tmpfs can be mounted here (root with CAP_SYS_ADMIN, as in CI).
    static let canMountTmpfs: Bool = {
        guard isRoot else { return false }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("voxbridge-mount-probe-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        guard system(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", folder]) == 0 else { return false }
        system(["umount", folder])
        return true
    }()

    /// How to run the service so that a file mode of 0444 binds it: as root, through `setpriv`
    /// as `nobody` (root writes any file); otherwise as it is.
    static var unprivilegedPrefix: [String]? {
        guard isRoot else { return [] }
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") else { return nil }
        return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    }
}

