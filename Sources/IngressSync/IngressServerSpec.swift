/// One HAProxy server the list asks for: the host and port of one or more list entries, in the
/// operator state of the entries (the most restrictive, when several entries share it).
public struct IngressServerSpec: Sendable, Equatable {
    /// The server's name in HAProxy, derived from the host and port so that a restarted sync
    /// finds its own: `vb-HOST-PORT`.
    public var name: String
    /// The first list entry at this host and port.
    public var url: String
    /// Every list entry at this host and port (paths differ; HAProxy has one server for them).
    public var urls: [String]
    /// The host as written in the URL (without brackets for IPv6).
    public var host: String
    /// The port, 80 or 443 when the URL names none.
    public var port: Int
    /// Whether the entry is `https` (TLS to the server).
    public var https: Bool
    /// What the server should be in HAProxy.
    public var state: IngressServerState
    /// The address HAProxy connects to (the host resolved), or `nil` when it cannot be.
    public var address: String?
    /// Why the host has no address.
    public var unresolved: String?

    /// A spec as given.
    public init(name: String, url: String, urls: [String], host: String, port: Int, https: Bool,
                state: IngressServerState, address: String? = nil, unresolved: String? = nil) {
        self.name = name
        self.url = url
        self.urls = urls
        self.host = host
        self.port = port
        self.https = https
        self.state = state
        self.address = address
        self.unresolved = unresolved
    }

    /// Whether the host is an IP address (no SNI is sent for one).
    public var hostIsAddress: Bool { AddressResolver.isAddress(host) }

    /// The specs for a list and its operator states (`active`, `draining`, `maintenance` by URL;
    /// absent: active), one per host and port, in list order. Entries that are not http(s) URLs
    /// are skipped (the store validated them).
    public static func specs(list: [String], operatorStates: [String: String]) -> [IngressServerSpec] {
        var specs: [IngressServerSpec] = []
        var index: [String: Int] = [:]
        for url in list {
            guard let parts = Self.parse(url) else { continue }
            let state = IngressServerState(operatorState: operatorStates[url] ?? "active")
            let name = Self.name(host: parts.host, port: parts.port)
            if let at = index[name] {
                specs[at].urls.append(url)
                specs[at].state = max(specs[at].state, state)
            } else {
                index[name] = specs.count
                specs.append(IngressServerSpec(name: name, url: url, urls: [url], host: parts.host, port: parts.port,
                                               https: parts.https, state: state))
            }
        }
        return specs
    }

    /// `vb-` + the host (characters HAProxy does not take in a name as `_`) + `-` + the port.
    public static func name(host: String, port: Int) -> String {
        let safe = String(host.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-") ? $0 : "_" })
        return "vb-\(safe)-\(port)"
    }

    /// Scheme, host and port of a normalised list entry.
    static func parse(_ url: String) -> (https: Bool, host: String, port: Int)? {
        let https: Bool
        let rest: Substring
        if url.hasPrefix("https://") {
            (https, rest) = (true, url.dropFirst(8))
        } else if url.hasPrefix("http://") {
            (https, rest) = (false, url.dropFirst(7))
        } else {
            return nil
        }
        let authority = rest.prefix { $0 != "/" }
        var host = Substring(authority)
        var port = https ? 443 : 80
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") {
                guard let value = Int(after.dropFirst()) else { return nil }
                port = value
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            guard let value = Int(authority[authority.index(after: colon)...]) else { return nil }
            port = value
        }
        guard !host.isEmpty else { return nil }
        return (https, String(host), port)
    }
}

/// What a server should be in HAProxy, from the operator state of its list entries.
public enum IngressServerState: Int, Sendable, Comparable, CustomStringConvertible {
    /// In service: `set server … state ready`.
    case ready = 0
    /// No new connections, sessions finish, checks go on: `state drain`.
    case drain = 1
    /// Nothing at all, no checks: `state maint`.
    case maint = 2

    /// The state for an operator state: `draining` → drain, `maintenance` → maint, else ready.
    public init(operatorState: String) {
        switch operatorState {
        case "draining": self = .drain
        case "maintenance": self = .maint
        default: self = .ready
        }
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    /// The word the Runtime API takes.
    public var description: String {
        switch self {
        case .ready: "ready"
        case .drain: "drain"
        case .maint: "maint"
        }
    }
}
