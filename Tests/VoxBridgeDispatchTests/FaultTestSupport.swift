import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
@testable import VoxBridgeDispatch

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

