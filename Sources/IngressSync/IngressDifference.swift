/// One way the backend differs from the list: what `ingress status` prints, one line each.
public struct IngressDifference: Sendable, Equatable, CustomStringConvertible {
    /// The kind of difference.
    public enum Kind: String, Sendable {
        /// Listed, not in the backend.
        case missing
        /// Listed, but HAProxy (or the resolver) refused it.
        case refused
        /// In the backend in another state than listed.
        case stateDiffers = "state"
        /// Listed active and in service, but its checks fail.
        case notUp = "not-up"
        /// A managed server no longer listed, still in the backend (draining).
        case extra
    }

    /// The kind.
    public var kind: Kind
    /// The server's name in HAProxy.
    public var server: String
    /// The list entry.
    public var url: String
    /// The rest of the line.
    public var detail: String

    /// A difference as given.
    public init(kind: Kind, server: String, url: String, detail: String) {
        self.kind = kind
        self.server = server
        self.url = url
        self.detail = detail
    }

    /// `KIND SERVER (URL): DETAIL`.
    public var description: String { "\(kind.rawValue) \(server) (\(url)): \(detail)" }

    /// The differences between the specs and the backend; `managed` names the servers the sync
    /// owns (from the servers file), `refusals` why some could not be added.
    public static func between(specs: [IngressServerSpec], observed: BackendSnapshot, managed: Set<String>,
                               refusals: [String: String] = [:]) -> [IngressDifference] {
        var found: [IngressDifference] = []
        let listed = Set(specs.map(\.name))
        for spec in specs {
            guard let server = observed.servers[spec.name] else {
                if let reason = refusals[spec.name] ?? spec.unresolved {
                    found.append(IngressDifference(kind: .refused, server: spec.name, url: spec.url, detail: reason))
                } else {
                    found.append(IngressDifference(kind: .missing, server: spec.name, url: spec.url, detail: "not in the backend"))
                }
                continue
            }
            let listedAs = ["active", "draining", "maintenance"][spec.state.rawValue]
            switch spec.state {
            case .maint where !server.inMaintenance, .drain where !server.draining || server.inMaintenance:
                found.append(IngressDifference(kind: .stateDiffers, server: spec.name, url: spec.url, detail: "\(server.state) in HAProxy, listed \(listedAs)"))
            case .ready where server.draining && !server.inMaintenance && !server.running:
                let check = server.checkStatus.isEmpty ? "" : ", check \(server.checkStatus)"
                found.append(IngressDifference(kind: .notUp, server: spec.name, url: spec.url, detail: "DOWN (out of service until a check passes\(check))"))
            case .ready where server.inMaintenance || server.draining:
                let why = refusals[spec.name].map { ": \($0)" } ?? ""
                found.append(IngressDifference(kind: .stateDiffers, server: spec.name, url: spec.url, detail: "\(server.state) in HAProxy, listed \(listedAs)\(why)"))
            case .ready where !server.running:
                let check = server.checkStatus.isEmpty ? "" : " (check \(server.checkStatus))"
                found.append(IngressDifference(kind: .notUp, server: spec.name, url: spec.url, detail: "\(server.status.isEmpty ? server.state : server.status)\(check)"))
            default:
                break
            }
        }
        for name in managed.sorted() where !listed.contains(name) {
            guard let server = observed.servers[name] else { continue }
            found.append(IngressDifference(kind: .extra, server: name, url: "no longer listed",
                                           detail: "\(server.state), \(server.sessions) session\(server.sessions == 1 ? "" : "s")"))
        }
        return found
    }
}
