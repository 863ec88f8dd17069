import Foundation

/// How `ingress sync` keeps a backend in step; a default for every field.
public struct IngressConfiguration: Sendable {
    /// The HAProxy backend whose servers follow the list.
    public var backend: String
    /// HAProxy's admin socket (`stats socket … level admin`).
    public var socketPath: String
    /// The file holding the backend section and its managed `server` lines; HAProxy loads it.
    public var serversFile: String
    /// The configuration files HAProxy loads besides ``serversFile``, for `haproxy -c`.
    public var haproxyConfigs: [String]
    /// The `haproxy` binary for `haproxy -c`.
    public var haproxyBinary: String
    /// The keywords of each added server (HAProxy's `add server` keywords).
    public var serverOptions: String
    /// The keywords added for `https` entries, before the server name's SNI.
    public var tlsOptions: String
    /// How long an added or re-enabled server may take to pass its first check.
    public var upTimeout: Duration
    /// How long a server no longer listed drains before it is removed with its sessions.
    public var removeTimeout: Duration
    /// How long a refused server waits before it is tried again.
    public var refusalRetry: Duration
    /// How often the sync compares the list with the backend.
    public var interval: Duration
    /// How often a server in maintenance after its timeout is probed for an answer.
    public var parkedProbeInterval: Duration
    /// The sync's own status file, read by `ingress status`.
    public var statusFile: String
    /// The name this ingress records its view under (host and backend).
    public var ingressName: String

    /// The server keywords used when `--server-options` is not given: health checks every second
    /// (a quarter second while a server changes state, half a second while it is down), two passes to come UP, three failures to go DOWN.
    public static let defaultServerOptions = "check inter 1s fastinter 250 downinter 500 rise 2 fall 3"
    /// TLS with the system's CAs for `https` entries; the SNI and the checks' SNI name the host.
    public static let defaultTLSOptions = "ssl verify required ca-file @system-ca"

    /// A configuration; every field has a default but the backend's name.
    public init(
        backend: String,
        socketPath: String = "/run/haproxy/admin.sock",
        serversFile: String? = nil,
        haproxyConfigs: [String] = ["/etc/haproxy/haproxy.cfg"],
        haproxyBinary: String = FileManager.default.isExecutableFile(atPath: "/usr/sbin/haproxy") ? "/usr/sbin/haproxy" : "haproxy",
        serverOptions: String = IngressConfiguration.defaultServerOptions,
        tlsOptions: String = IngressConfiguration.defaultTLSOptions,
        upTimeout: Duration = .seconds(30),
        removeTimeout: Duration = .seconds(3_600),
        refusalRetry: Duration = .seconds(30),
        interval: Duration = .milliseconds(200),
        parkedProbeInterval: Duration = .seconds(1),
        statusFile: String? = nil,
        ingressName: String? = nil
    ) {
        self.backend = backend
        self.socketPath = socketPath
        self.serversFile = serversFile ?? "/etc/haproxy/voxbridge-\(backend).cfg"
        self.haproxyConfigs = haproxyConfigs
        self.haproxyBinary = haproxyBinary
        self.serverOptions = serverOptions
        self.tlsOptions = tlsOptions
        self.upTimeout = upTimeout
        self.removeTimeout = removeTimeout
        self.refusalRetry = refusalRetry
        self.interval = interval
        self.parkedProbeInterval = parkedProbeInterval
        self.statusFile = statusFile ?? "/var/lib/voxbridge-dispatch/ingress-\(backend).json"
        self.ingressName = ingressName ?? "\(Self.hostName())/\(backend)"
    }

    /// Whether ``serverOptions`` turn health checks on (without them a server is in service at once).
    public var checksEnabled: Bool {
        serverOptions.split(separator: " ").contains("check")
    }

    /// The keywords of one server: ``serverOptions``, plus TLS and the host's SNI for https.
    public func options(for spec: IngressServerSpec) -> String {
        guard spec.https else { return serverOptions }
        var words = [serverOptions, tlsOptions]
        if !spec.hostIsAddress {
            words.append("sni str(\(spec.host)) check-sni \(spec.host)")
        }
        return words.filter { !$0.isEmpty }.joined(separator: " ")
    }

    private static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "ingress" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

#if canImport(Glibc)
import Glibc
#endif
