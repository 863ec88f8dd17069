import Foundation
import HTTPTypes
import NIOCore
import NIOEmbedded
import NIOHTTPTypes
import Synchronization
import Testing
@testable import DispatchHTTPServer

/// The timeout handler on an `EmbeddedChannel`, whose clock the tests move by hand: what it
/// writes and when it closes. Answers written from the pipeline's far end stand for the fast
/// path's and the router's. No sockets.
@Suite("Connection timeouts in the channel pipeline")
struct ConnectionTimeoutHandlerTests {
    /// An active channel with the handler, request timeout 2 s, idle timeout 5 s.
    static func channel() throws -> (EmbeddedChannel, ConnectionTimeoutHandler) {
        var configuration = HTTPConnectionConfiguration()
        configuration.requestTimeout = .seconds(2)
        configuration.idleTimeout = .seconds(5)
        let handler = ConnectionTimeoutHandler(configuration: configuration, metrics: CountingConnectionMetrics())
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(handler)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return (channel, handler)
    }

    static let pick = HTTPRequest(method: .post, scheme: nil, authority: nil, path: "/v1/pick")

    /// One whole request in, one whole answer out.
    static func exchange(_ channel: EmbeddedChannel, _ handler: ConnectionTimeoutHandler) throws {
        handler.bytesArrived(eventLoop: channel.eventLoop)
        try channel.writeInbound(HTTPRequestPart.head(pick))
        try channel.writeInbound(HTTPRequestPart.end(nil))
        try channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .ok)))
        try channel.writeOutbound(HTTPResponsePart.end(nil))
        while try channel.readInbound(as: HTTPRequestPart.self) != nil {}
        while try channel.readOutbound(as: HTTPResponsePart.self) != nil {}
    }

    @Test("a head whose body does not come: 408 request_timeout with Connection: close, then closed")
    func requestTimeout() throws {
        let (channel, handler) = try Self.channel()
        handler.bytesArrived(eventLoop: channel.eventLoop)
        try channel.writeInbound(HTTPRequestPart.head(Self.pick))
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(1_999))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(1))
        guard case .head(let head)? = try channel.readOutbound(as: HTTPResponsePart.self),
            case .body(let body)? = try channel.readOutbound(as: HTTPResponsePart.self),
            case .end? = try channel.readOutbound(as: HTTPResponsePart.self)
        else {
            Issue.record("no whole 408 answer written")
            return
        }
        #expect(head.status == .requestTimeout)
        #expect(head.headerFields[.connection] == "close")
        #expect(head.headerFields[.contentLength] == String(body.readableBytes))
        #expect(String(buffer: body) == #"{"error":"request_timeout","message":"the request did not arrive whole within 2000 ms"}"#)
        #expect(!channel.isActive)
    }

    @Test("answers going out count as activity: a request a second keeps the connection past the idle timeout")
    func answersAreActivity() throws {
        let (channel, handler) = try Self.channel()
        for _ in 0..<12 {
            try Self.exchange(channel, handler)
            channel.embeddedEventLoop.advanceTime(by: .seconds(1))
            #expect(channel.isActive)
        }
        channel.embeddedEventLoop.advanceTime(by: .seconds(3))
        #expect(channel.isActive, "idle for 4 s of 5")
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(!channel.isActive, "idle for 5 s")
        #expect(try channel.readOutbound(as: HTTPResponsePart.self) == nil, "closed without an answer")
    }

    @Test("a slow answer is not timed out; the idle timeout starts at its end")
    func slowAnswer() throws {
        let (channel, handler) = try Self.channel()
        handler.bytesArrived(eventLoop: channel.eventLoop)
        try channel.writeInbound(HTTPRequestPart.head(Self.pick))
        try channel.writeInbound(HTTPRequestPart.end(nil))
        channel.embeddedEventLoop.advanceTime(by: .seconds(30))
        #expect(channel.isActive)
        try channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .ok)))
        try channel.writeOutbound(HTTPResponsePart.end(nil))
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(4_900))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(100))
        #expect(!channel.isActive)
    }
}

/// Counts what the connection layer reports, for the tests' expectations.
final class CountingConnectionMetrics: ConnectionMetrics {
    /// Connections open by the reports' sum, and the counts of each other report.
    let open = Atomic(0), refused = Atomic(0), timedOut = Atomic(0), closedIdle = Atomic(0), limit = Atomic(0), shed = Atomic(0)

    func recordConnectionsOpen(change: Int) { open.add(change, ordering: .relaxed) }
    func recordConnectionRefused() { refused.add(1, ordering: .relaxed) }
    func recordRequestTimedOut() { timedOut.add(1, ordering: .relaxed) }
    func recordConnectionClosedIdle() { closedIdle.add(1, ordering: .relaxed) }
    func recordConnectionLimit(_ limit: Int) { self.limit.store(limit, ordering: .relaxed) }
    func recordConnectionsShed(_ count: Int) { shed.add(count, ordering: .relaxed) }
}

/// A JSON object body as a dictionary (empty when it is not one).
func json(_ body: ByteBuffer) -> [String: Any] {
    (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView))) as? [String: Any] ?? [:]
}
