import Foundation

/// `ingress status`: the differences between the list and the backend, read live from HAProxy,
/// with what the sync's status file says it did.
public struct IngressStatusReport: Sendable {
    /// The backend.
    public var backend: String
    /// One item per difference; none when in step.
    public var differences: [IngressDifference]
    /// Servers in the backend the sync did not add: left alone.
    public var unmanaged: [String]
    /// The backend's servers by state word (`UP`, `DOWN`, `DRAIN`, `MAINT`).
    public var serversByState: [String: Int]
    /// The sync's status file, when there is one.
    public var sync: IngressSyncStatus?
    /// How old that file is.
    public var syncAge: Duration?

    /// 0 in step, 2 not.
    public var exitCode: Int32 { differences.isEmpty ? 0 : 2 }

    /// Reads the backend and the servers file and compares them with `list`.
    /// - Throws: ``IngressError`` when HAProxy, the backend or the servers file cannot be read.
    public static func make(configuration: IngressConfiguration, list: IngressList) throws(IngressError) -> IngressStatusReport {
        let runtime = HAProxyRuntime(path: configuration.socketPath)
        _ = try runtime.verify(backend: configuration.backend)
        let file = try ServersFile.load(path: configuration.serversFile, backend: configuration.backend)
        let observed = try runtime.snapshot(backend: configuration.backend)
        let sync = IngressSyncStatus.load(path: configuration.statusFile)
        var specs = list.specs
        for index in specs.indices where !AddressResolver.isAddress(specs[index].host) {
            if case .failure(let failure) = AddressResolver.resolve(specs[index].host) { specs[index].unresolved = failure.description }
        }
        let managed = Set(file.managed.map(\.name))
        let refusals = Dictionary((sync?.failures ?? []).map { ($0.server, $0.reason) }, uniquingKeysWith: { first, _ in first })
        let differences = IngressDifference.between(specs: specs, observed: observed, managed: managed, refusals: refusals)
        let listed = Set(specs.map(\.name))
        let unmanaged = observed.servers.keys.filter { !managed.contains($0) && !listed.contains($0) }.sorted()
        var byState: [String: Int] = [:]
        for server in observed.servers.values { byState[server.state, default: 0] += 1 }
        let age = sync.flatMap { status -> Duration? in
            guard let date = ISO8601DateFormatter().date(from: status.updatedAt) else { return nil }
            return .milliseconds(Int64(Date.now.timeIntervalSince(date) * 1000))
        }
        return IngressStatusReport(backend: configuration.backend, differences: differences, unmanaged: unmanaged,
                                   serversByState: byState, sync: sync, syncAge: age)
    }

    /// The lines `ingress status` prints: one per difference, then notes.
    public var lines: [String] {
        var lines = differences.map(\.description)
        if differences.isEmpty {
            let total = serversByState.values.reduce(0, +)
            lines.append("in step: backend \(backend) has \(total) server\(total == 1 ? "" : "s") (\(stateSummary))")
        }
        lines += unmanaged.map { "note: \($0) was not added by the sync; left alone" }
        if let syncAge, syncAge > .seconds(10) {
            lines.append("note: the sync last wrote its status \(Int(syncAge / .seconds(1))) s ago (is it running?)")
        }
        if let error = sync?.haproxyError { lines.append("note: the sync cannot read HAProxy: \(error)") }
        return lines
    }

    private var stateSummary: String {
        serversByState.isEmpty ? "none" : serversByState.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
    }

    /// `ingress status --json`: what a monitoring check reads.
    public func json() -> Data {
        var object: [String: Any] = [
            "backend": backend,
            "in_step": differences.isEmpty,
            "servers_by_state": serversByState,
            "differences": differences.map { ["kind": $0.kind.rawValue, "server": $0.server, "url": $0.url, "detail": $0.detail] },
            "unmanaged": unmanaged,
        ]
        if let sync {
            object["changes_applied"] = sync.changesApplied
            object["failures"] = sync.failures.map { ["server": $0.server, "url": $0.url, "reason": $0.reason] }
            object["sync_updated_at"] = sync.updatedAt
            let since = sync.outOfStepSince.flatMap { ISO8601DateFormatter().date(from: $0) }
            object["seconds_out_of_step"] = differences.isEmpty ? 0 : since.map { max(0, Date.now.timeIntervalSince($0)) } ?? 0
        } else {
            object["changes_applied"] = NSNull()
            object["failures"] = [Any]()
            object["seconds_out_of_step"] = NSNull()
            object["sync_updated_at"] = NSNull()
        }
        return (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
    }
}
