import Foundation

/// One `voxbridge-dispatch serve` of a cluster bench: in a cluster (`--store … --advertise-url`)
/// or alone (its own SQLite file: the naive alternative), on a free loopback port.
final class ClusterInstance: Sendable {
    let child: ChildProcess
    /// `http://127.0.0.1:PORT`, also its `--advertise-url` in a cluster (the proxy's port when
    /// one stands in front of it).
    let url: String
    let arguments: [String]
    let executable: String

    private init(child: ChildProcess, url: String, executable: String, arguments: [String]) {
        self.child = child
        self.url = url
        self.executable = executable
        self.arguments = arguments
    }

    /// What the bench's members send each other (a cluster member needs one).
    static let environment = ["VOXBRIDGE_CLUSTER_SECRET": "cluster-secret-of-the-bench"]

    /// Starts one instance; `store` set: it joins the cluster on that database. `port` and
    /// `advertiseURL` set: it listens on that port and is known (to the members and the callers)
    /// by that URL, a proxy's in front of it.
    static func start(
        executable: String, store: String?, database: String, port chosenPort: Int? = nil, advertiseURL: String? = nil
    ) async throws -> ClusterInstance {
        let port = try chosenPort ?? FreePort.take()
        let url = advertiseURL ?? "http://127.0.0.1:\(port)"
        var arguments = ["serve", "--host", "127.0.0.1", "--port", String(port)]
        if let store {
            arguments += ["--store", store, "--advertise-url", url]
        } else {
            arguments += ["--db", database]
        }
        let (child, _) = try await ChildProcess.start(
            name: "voxbridge-dispatch", executable: executable, arguments: arguments, readyMarker: "listening on http://",
            environment: Self.environment)
        return ClusterInstance(child: child, url: url, executable: executable, arguments: arguments)
    }

    /// The same instance started again (after a kill), on the same port and URL.
    func restarted() async throws -> ClusterInstance {
        let (child, _) = try await ChildProcess.start(
            name: "voxbridge-dispatch", executable: executable, arguments: arguments, readyMarker: "listening on http://",
            environment: Self.environment)
        return ClusterInstance(child: child, url: url, executable: executable, arguments: arguments)
    }
}

/// A free TCP port on 127.0.0.1, found by binding port 0 and closing the socket.
enum FreePort {
    static func take() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw ChildProcess.StartError(description: "socket() failed") }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
        }
        guard bound == 0 else { throw ChildProcess.StartError(description: "bind() failed") }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
