import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import Synchronization

/// The list from the dispatchers' `GET /v1/fleet/events` stream, trying each URL in turn: an
/// ingress host rarely sees the dispatchers' database. The pick token is enough.
public final class DispatcherListSource: IngressListSource {
    /// The dispatchers' base URLs.
    public let dispatchers: [String]
    private let token: String?
    private let logger: Logger
    private let http: HTTPClient
    private let latest = Mutex<IngressList?>(nil)

    /// A source following `dispatchers` with `token` (the pick token, when they require one).
    public init(dispatchers: [String], token: String?, logger: Logger) {
        self.dispatchers = dispatchers.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        self.token = token
        self.logger = logger
        var settings = HTTPClient.Configuration()
        settings.timeout = .init(connect: .seconds(2), read: .seconds(5))
        settings.redirectConfiguration = .disallow
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: settings)
    }

    /// The list of the last event.
    public func current() -> IngressList? { latest.withLock { $0 } }

    /// Follows the streams until cancelled: on an error, the next dispatcher, then again from the
    /// first after a second.
    public func run() async {
        var failures: [String] = []
        while !Task.isCancelled {
            for dispatcher in dispatchers where !Task.isCancelled {
                do {
                    try await follow(dispatcher)
                } catch {
                    if !Task.isCancelled { failures.append("\(dispatcher): \(error)") }
                }
            }
            if !failures.isEmpty {
                logger.warning("no dispatcher's event stream answers, the backend follows the list already loaded: \(failures.joined(separator: "; "))")
                failures = []
            }
            try? await Task.sleep(for: .seconds(1))
        }
        try? await http.shutdown()
    }

    /// Fetches `GET /v1/fleet` once, from the first dispatcher that answers; the source is not
    /// used afterwards (its connections are closed).
    public func fetchOnce() async throws -> IngressList {
        var failures: [String] = []
        var found: IngressList?
        for dispatcher in dispatchers where found == nil {
            do {
                var request = HTTPClientRequest(url: dispatcher + "/v1/fleet")
                if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
                let response = try await http.execute(request, timeout: .seconds(5))
                let body = try await response.body.collect(upTo: 8 << 20)
                guard response.status == .ok else { throw SourceError("HTTP \(response.status.code)") }
                found = try Self.list(from: Data(body.readableBytesView))
            } catch {
                failures.append("\(dispatcher): \(error)")
            }
        }
        try? await http.shutdown()
        guard let found else { throw SourceError("no dispatcher answers GET /v1/fleet: \(failures.joined(separator: "; "))") }
        return found
    }

    private func follow(_ dispatcher: String) async throws {
        var request = HTTPClientRequest(url: dispatcher + "/v1/fleet/events")
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        // A stream sends an event at least every second: three silent seconds mean it is gone.
        let response = try await http.execute(request, timeout: .seconds(3600))
        guard response.status == .ok else { throw SourceError("HTTP \(response.status.code)") }
        let body = response.body
        try await withThrowingTaskGroup(of: Void.self) { group in
            let lastEvent = LastEvent()
            group.addTask {
                var pending = Data()
                for try await chunk in body {
                    lastEvent.at.withLock { $0 = .now }
                    pending.append(contentsOf: chunk.readableBytesView)
                    while let end = pending.firstRange(of: Data("\n\n".utf8)) {
                        let event = pending[pending.startIndex..<end.lowerBound]
                        pending.removeSubrange(pending.startIndex..<end.upperBound)
                        try self.take(event)
                    }
                    if pending.count > 16 << 20 { throw SourceError("an event over 16 MiB") }
                }
                throw SourceError("the stream ended")
            }
            group.addTask {
                while true {
                    try await Task.sleep(for: .seconds(1))
                    if ContinuousClock.now - lastEvent.at.withLock({ $0 }) > .seconds(3) { throw SourceError("no event for 3 s") }
                }
            }
            try await group.next()
            group.cancelAll()
        }
    }

    private func take(_ event: Data) throws {
        let text = String(decoding: event, as: UTF8.self)
        guard text.split(separator: "\n").contains("event: fleet") else { return }
        guard let data = text.split(separator: "\n").first(where: { $0.hasPrefix("data: ") }) else { return }
        let list = try Self.list(from: Data(data.dropFirst(6).utf8))
        latest.withLock { $0 = list }
    }

    /// The list in a `GET /v1/fleet` document (or an event's data).
    static func list(from data: Data) throws -> IngressList {
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any],
            let servers = object["servers"] as? [[String: Any]]
        else { throw SourceError("not a fleet document") }
        var urls: [String] = []
        var states: [String: String] = [:]
        for server in servers {
            guard let url = server["url"] as? String else { continue }
            urls.append(url)
            if let state = server["admin_state"] as? String, state != "active" { states[url] = state }
        }
        return IngressList(urls: urls, operatorStates: states, version: object["version"] as? Int ?? 0)
    }

    /// When the stream last sent something, shared by the reader and its watchdog.
    private final class LastEvent: Sendable {
        let at = Mutex(ContinuousClock.now)
    }

    /// Why a dispatcher gave no list.
    public struct SourceError: Error, CustomStringConvertible {
        /// The line.
        public var description: String
        init(_ description: String) { self.description = description }
    }
}
