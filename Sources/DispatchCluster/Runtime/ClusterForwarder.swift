import Foundation
import AsyncHTTPClient
import HTTPTypes
import NIOCore
import NIOHTTP1

/// Sends a pick or a release a follower received to the leader, over kept-alive connections, and
/// gives back the leader's answer as it was: status, content headers and body, byte for byte.
///
/// A forwarded request carries ``forwardedHeader`` so that the leader never forwards it again:
/// an instance that receives one and does not lead answers 503 `not_leader`, and the follower
/// asks the database who leads now.
public final class ClusterForwarder: Sendable {
    /// Marks a request a follower forwarded; its value is the follower's URL.
    public static let forwardedHeader = HTTPField.Name("VoxBridge-Forwarded-By")!
    /// The lease term a pick was decided under, on the pick's answer.
    public static let fencingHeader = HTTPField.Name("VoxBridge-Lease-Term")!
    /// The `--advertise-url` of the instance that decided a pick, on the pick's answer: the
    /// leader's when forwarded, the answering instance's own when it decided alone.
    public static let deciderHeader = HTTPField.Name("VoxBridge-Decided-By")!
    /// Marks a request a member relayed because it could not reach the leader; its value is that
    /// member's URL. The receiver routes it as its own (it may forward it to the leader once),
    /// but never relays it again.
    public static let relayedHeader = HTTPField.Name("VoxBridge-Relayed-By")!

    /// The leader's answer.
    public struct Answer: Sendable {
        /// Its status.
        public var status: HTTPResponse.Status
        /// Its headers, less those of the connection (``passedBack(_:)``).
        public var headers: HTTPFields
        /// Its body, whole.
        public var body: ByteBuffer

        /// An answer as the leader gave it.
        public init(status: HTTPResponse.Status, headers: HTTPFields, body: ByteBuffer) {
            self.status = status
            self.headers = headers
            self.body = body
        }

        /// Whether the leader said it does not lead (any more).
        public var isNotLeader: Bool {
            status == .serviceUnavailable && headers[ClusterForwarder.notLeaderHeader] != nil
        }
    }

    /// Set on a `not_leader` answer, so the follower tells it from the service's other 503s
    /// without parsing the body.
    public static let notLeaderHeader = HTTPField.Name("VoxBridge-Not-Leader")!

    private let http: HTTPClient
    private let selfURL: String
    private let timeout: Duration
    private let memberToken: String?

    /// A forwarder with its own connection pool.
    /// - Parameters:
    ///   - selfURL: this instance's `--advertise-url`, sent in ``forwardedHeader``.
    ///   - timeout: bound on one forward: the longest a leader may take to answer a pick that
    ///     waits for probes, and then some.
    ///   - memberToken: the bearer token sent with the batches to the members: the cluster
    ///     secret, which callers do not have.
    public init(selfURL: String, timeout: Duration, memberToken: String? = nil) {
        var settings = HTTPClient.Configuration()
        // Up to 256 connections to the leader: one per pick in flight at the bench's rates, so a
        // pick never queues behind another. Idle connections are closed after 30 s, before the
        // leader's own idle timeout (60 s by default) could close one under a request. A leader
        // on the same network connects in a millisecond: past 250 ms it is treated as gone.
        settings.connectionPool = .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: 256)
        settings.timeout = .init(connect: .milliseconds(250), read: Self.timeAmount(timeout))
        settings.httpVersion = .http1Only
        settings.redirectConfiguration = .disallow
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: settings)
        self.selfURL = selfURL
        self.timeout = timeout
        self.memberToken = memberToken
    }

    /// The largest answer taken from the leader: the service's own body limit.
    static let maximumAnswerBytes = 1 << 20

    /// Sends a request (its path without the query, `Authorization` and `Content-Type`, and
    /// `body`) to the leader.
    /// - Throws: when the leader cannot be reached or does not answer within the timeout; the
    ///   caller then asks the database who leads.
    public func forward(_ head: HTTPRequest, body: ByteBuffer, to leaderURL: String) async throws -> Answer {
        try await send(head, body: body, to: leaderURL, marked: Self.forwardedHeader)
    }

    /// Sends a request to another member, marked ``relayedHeader``, for it to route as its own.
    public func relay(_ head: HTTPRequest, body: ByteBuffer, through member: String) async throws -> Answer {
        try await send(head, body: body, to: member, marked: Self.relayedHeader)
    }

    private func send(_ head: HTTPRequest, body: ByteBuffer, to url: String, marked marker: HTTPField.Name) async throws -> Answer {
        let path = head.path.map { $0.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? $0 } ?? "/"
        var outbound = HTTPClientRequest(url: url + path)
        outbound.method = HTTPMethod(rawValue: head.method.rawValue)
        for name in [HTTPField.Name.authorization, .contentType] {
            if let value = head.headerFields[name] { outbound.headers.add(name: name.rawName, value: value) }
        }
        outbound.headers.add(name: marker.rawName, value: selfURL)
        outbound.body = .bytes(body)
        let response = try await http.execute(outbound, timeout: Self.timeAmount(timeout))
        let bytes = try await response.body.collect(upTo: Self.maximumAnswerBytes)
        var headers = HTTPFields()
        for header in response.headers where Self.passedBack(header.name) {
            if let name = HTTPField.Name(header.name) { headers.append(HTTPField(name: name, value: header.value)) }
        }
        return Answer(status: HTTPResponse.Status(code: Int(response.status.code)), headers: headers, body: bytes)
    }

    /// POSTs `json` to `path` on `url` (a member), with the cluster secret as bearer when given.
    /// - Returns: Whether it answered 2xx.
    func post(_ path: String, json: ByteBuffer, to url: String) async throws -> Bool {
        var outbound = HTTPClientRequest(url: url + path)
        outbound.method = .POST
        outbound.headers.add(name: "Content-Type", value: "application/json")
        if let token = memberToken { outbound.headers.add(name: "Authorization", value: "Bearer \(token)") }
        outbound.headers.add(name: Self.forwardedHeader.rawName, value: selfURL)
        outbound.body = .bytes(json)
        // A member that does not take a batch within 500 ms is skipped for it: the next batches
        // must not wait long on a member that is frozen or gone.
        let response = try await http.execute(outbound, timeout: .milliseconds(500))
        _ = try await response.body.collect(upTo: 1 << 16)
        return (200..<300).contains(response.status.code)
    }

    /// A member's `GET /v1/cluster`, read back into a ``ClusterStatus`` (its members left out).
    /// A member that does not answer within 200 ms is taken as out of reach: the question is
    /// asked again every poll interval.
    func clusterStatus(of member: String) async throws -> ClusterStatus? {
        var outbound = HTTPClientRequest(url: member + "/v1/cluster")
        if let token = memberToken { outbound.headers.add(name: "Authorization", value: "Bearer \(token)") }
        let response = try await http.execute(outbound, timeout: .milliseconds(200))
        let body = try await response.body.collect(upTo: 1 << 16)
        guard response.status == .ok,
            let object = try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any],
            let role = object["role"] as? String
        else { return nil }
        let lease = object["lease"] as? [String: Any] ?? [:]
        func duration(_ key: String) -> Duration? { (lease[key] as? Double).map { .microseconds(Int64($0 * 1_000)) } }
        return ClusterStatus(
            role: role, selfURL: object["self"] as? String, leaderURL: object["leader"] as? String,
            fencing: (lease["fencing"] as? NSNumber)?.int64Value, leaseHolder: lease["holder"] as? String,
            expiresIn: duration("expires_in_ms"), termEndsIn: duration("term_ends_in_ms"),
            databaseReachable: object["database_reachable"] as? Bool ?? false, members: [])
    }

    /// Closes the pool.
    public func shutdown() async {
        try? await http.shutdown()
    }

    /// The leader's headers a follower gives back: all but those of the connection itself (the
    /// follower's own server sets length, date and keep-alive for its own connection).
    static func passedBack(_ name: String) -> Bool {
        !["connection", "keep-alive", "transfer-encoding", "content-length", "date", "server"].contains(name.lowercased())
    }

    private static func timeAmount(_ duration: Duration) -> TimeAmount {
        let (seconds, attoseconds) = duration.components
        return .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
