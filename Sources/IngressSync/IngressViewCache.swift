import Foundation
import Logging
import ServiceLifecycle
import SettingsStore
import Synchronization

/// What the ingress syncs recorded in the store, read every few seconds for the operator's page
/// and `GET /v1/fleet`: per listed server, whether each ingress has it UP.
public final class IngressViewCache: Service {
    /// A view older than this is shown stale: its sync stopped recording.
    public static let staleAfter: TimeInterval = 30

    private let store: any FleetSettingsStore
    private let interval: Duration
    private let logger: Logger
    private let views = Mutex<[IngressView]>([])

    /// A cache reading `store` every `interval`.
    public init(store: any FleetSettingsStore, interval: Duration = .seconds(2), logger: Logger) {
        self.store = store
        self.interval = interval
        self.logger = logger
    }

    /// Reads until graceful shutdown; a failed read keeps the views already read.
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            var failing = false
            while !Task.isCancelled {
                do {
                    let read = try await self.store.ingressViews()
                    self.views.withLock { $0 = read }
                    failing = false
                } catch {
                    if !failing { self.logger.warning("cannot read the ingress views, the page shows the last ones read: \(error)") }
                    failing = true
                }
                try? await Task.sleep(for: self.interval)
            }
        }
    }

    /// How each ingress sees `url`, and whether one that is recording lacks it.
    public func inbound(_ url: String, now: Date = .now) -> (ingresses: [Inbound], missing: Bool) {
        let formatter = ISO8601DateFormatter()
        let found = views.withLock { $0 }.map { view -> Inbound in
            let stale = formatter.date(from: view.updatedAt).map { now.timeIntervalSince($0) > Self.staleAfter } ?? true
            let server = view.servers.first { $0.url == url }
            return Inbound(ingress: view.ingress, state: server?.state ?? "missing", up: server?.up ?? false, stale: stale)
        }
        return (found, found.contains { !$0.stale && ($0.state == "missing" || $0.state == "refused") })
    }

    /// One ingress's state of one server.
    public struct Inbound: Sendable, Equatable {
        /// The ingress (host and backend).
        public var ingress: String
        /// HAProxy's state word, or `missing` / `refused`.
        public var state: String
        /// Whether it takes new connections there.
        public var up: Bool
        /// Whether its sync has stopped recording.
        public var stale: Bool
    }
}
