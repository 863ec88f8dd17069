import Foundation

/// What one ingress sync last saw of its HAProxy backend: for each server it manages, the
/// HAProxy state, so that every dispatcher (and the operator's page) can show whether the
/// inbound path has the server the outbound list has.
///
/// Kept in the settings table under ``keyPrefix`` + ``ingress``, outside the list's version and
/// history: a sync writes it often, and writing it must never move the list's ETag.
public struct IngressView: Sendable, Equatable, Codable {
    /// The settings key of every view starts with this.
    public static let keyPrefix = "voxbridge_ingress:"
    /// The longest ingress name accepted (a key must stay readable in logs).
    public static let maximumNameLength = 200

    /// Which ingress: the sync's host name and backend, e.g. `ingress-1/voxcore_wss`.
    public var ingress: String
    /// When the sync recorded it (RFC 3339, UTC).
    public var updatedAt: String
    /// Whether the backend equalled the list when it was recorded.
    public var inStep: Bool
    /// One item per listed server (and per managed server no longer listed).
    public var servers: [Server]

    /// One server as the ingress sees it.
    public struct Server: Sendable, Equatable, Codable {
        /// The list entry (for a server several entries map to, the first).
        public var url: String
        /// HAProxy's state: `UP`, `DOWN`, `DRAIN`, `MAINT`, or `missing` / `refused` when
        /// the backend does not hold it.
        public var state: String
        /// Whether HAProxy would send it a new connection now.
        public var up: Bool

        /// A server as given.
        public init(url: String, state: String, up: Bool) {
            self.url = url
            self.state = state
            self.up = up
        }
    }

    /// A view as given.
    public init(ingress: String, updatedAt: String, inStep: Bool, servers: [Server]) {
        self.ingress = ingress
        self.updatedAt = updatedAt
        self.inStep = inStep
        self.servers = servers
    }

    /// The settings key this view is stored under.
    public var key: String { Self.keyPrefix + ingress }

    /// The stored value.
    public func encoded() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data("{}".utf8), as: UTF8.self)
    }

    /// A view read back from a stored value; `nil` for one this program did not write (a view
    /// is advice for the page: an unreadable one is skipped, never an error for the list).
    public static func decode(_ value: String) -> IngressView? {
        try? JSONDecoder().decode(IngressView.self, from: Data(value.utf8))
    }
}
