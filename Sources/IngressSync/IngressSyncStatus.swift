import Foundation

/// What the sync last did, kept in its status file for `ingress status --json` and monitoring:
/// changes applied, failures, since when the backend is out of step.
public struct IngressSyncStatus: Sendable, Codable, Equatable {
    /// The backend.
    public var backend: String
    /// The ingress's name (host and backend).
    public var ingress: String
    /// When the sync wrote this (RFC 3339).
    public var updatedAt: String
    /// The sync's process id.
    public var pid: Int32
    /// HAProxy's worker process id, as last seen.
    public var haproxyPid: Int?
    /// Whether the backend equalled the list at ``updatedAt``.
    public var inStep: Bool
    /// Since when it has not (RFC 3339), or `nil` when in step.
    public var outOfStepSince: String?
    /// Runtime API commands carried out since the sync started.
    public var changesApplied: Int
    /// The failures still in effect: refused servers and servers in maintenance after their timeout.
    public var failures: [Failure]
    /// The last error reaching HAProxy, when it cannot be reached now.
    public var haproxyError: String?

    /// A failure of one server.
    public struct Failure: Sendable, Codable, Equatable {
        /// The server's name.
        public var server: String
        /// The list entry.
        public var url: String
        /// What happened.
        public var reason: String
    }

    /// A status as given.
    public init(backend: String, ingress: String, updatedAt: String, pid: Int32, haproxyPid: Int?, inStep: Bool,
                outOfStepSince: String?, changesApplied: Int, failures: [Failure], haproxyError: String?) {
        self.backend = backend
        self.ingress = ingress
        self.updatedAt = updatedAt
        self.pid = pid
        self.haproxyPid = haproxyPid
        self.inStep = inStep
        self.outOfStepSince = outOfStepSince
        self.changesApplied = changesApplied
        self.failures = failures
        self.haproxyError = haproxyError
    }

    /// JSON with snake_case keys.
    public func encoded() -> Data {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)) ?? Data("{}".utf8)
    }

    /// A status read back; `nil` when the file is missing or not one.
    public static func load(path: String) -> IngressSyncStatus? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try? decoder.decode(IngressSyncStatus.self, from: data)
    }

    /// Writes the status atomically (a temporary file renamed over it).
    public func write(path: String) throws {
        try encoded().write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    /// The time format of the status and views.
    public static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }
}
