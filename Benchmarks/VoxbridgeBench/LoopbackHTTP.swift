import AsyncHTTPClient
import Foundation
import NIOCore

/// The bench's HTTP client: AsyncHTTPClient with keep-alive connections on loopback.
///
/// Why AsyncHTTPClient: it is already in the package graph (HummingbirdTesting uses it), it keeps
/// HTTP/1.1 connections alive and pools them per host, and it is async, so thousands of dialouts
/// in flight cost tasks, not threads. On this 2-core machine it sustains the 2,000 requests a
/// second the `steady` scenario needs (a pick and a dialout for each of 1,000 dialouts a second)
/// with a few percent of a core. libcurl (through HealthProber) stays the client of the naive
/// picker's health probes, so that the naive picker probes exactly as the dispatcher does.
final class LoopbackHTTP: Sendable {
    /// A response: the status and the body text.
    struct Answer: Sendable {
        var status: Int
        var body: ByteBuffer
        /// The body as a JSON object, when it is one.
        var json: [String: Any]? {
            (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView))) as? [String: Any]
        }
    }

    /// The methods the bench sends.
    enum Method: String, Sendable {
        case GET, POST, PUT
    }

    private let client: HTTPClient
    /// Bound on one whole request.
    let timeout: TimeAmount

    /// A client with up to `connectionsPerHost` keep-alive connections to each host.
    init(connectionsPerHost: Int = 256, timeout: TimeAmount = .seconds(5)) {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(
            idleTimeout: .seconds(120), concurrentHTTP1ConnectionsPerHostSoftLimit: connectionsPerHost)
        configuration.timeout = .init(connect: .seconds(2), read: timeout)
        configuration.httpVersion = .http1Only
        configuration.redirectConfiguration = .disallow
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        self.timeout = timeout
    }

    /// Sends one request and reads the whole answer (at most 1 MiB).
    func send(_ method: Method, _ url: String, json body: String? = nil, timeout bound: TimeAmount? = nil) async throws -> Answer {
        var request = HTTPClientRequest(url: url)
        request.method = .init(rawValue: method.rawValue)
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await client.execute(request, timeout: bound ?? timeout)
        let buffer = try await response.body.collect(upTo: 1 << 20)
        return Answer(status: Int(response.status.code), body: buffer)
    }

    /// Closes every connection.
    func shutdown() async {
        try? await client.shutdown()
    }
}
