import DispatchHTTPServer
import DispatchTestSupport
import FleetPicker
import Foundation
import HTTPTypes
import IngressSync
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTPTypes
import ServiceMetrics
import Synchronization
import Testing
@testable import SettingsStore
@testable import VoxBridgeDispatch

/// A prober that answers at once with fixed free workers per server, and counts its probes.
final class ReadyProber: FleetProbing {
    private let free: [String: Int]
    private let probes = Mutex(0)

    init(_ free: [String: Int]) { self.free = free }

    var count: Int { probes.withLock { $0 } }

    func probe(server: String) async -> ProbeResult {
        probes.withLock { $0 += 1 }
        return .healthy(ServerReading(workers: 16, activeCalls: 16 - (free[server] ?? 0)))
    }
}

/// Stands for the HTTP decoder's parse errors.
struct MalformedRequest: Error {}

/// Sits after the fast path and records the user events that reach the router's side.
final class UserEventRecorder: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    private(set) var events: [Any] = []

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        events.append(event)
        context.fireUserInboundEventTriggered(event)
    }
}

/// The fast path on an `EmbeddedChannel`: what it answers itself, and what it hands to the
/// router (what comes out of the pipeline's inbound end) untouched and in order. No sockets.
@Suite("Pick fast path in the channel pipeline")
struct PickFastPathHandlerTests {
    static let fleet = ["http://127.0.0.1:9001", "http://127.0.0.1:9002"]

    /// A handler on an embedded channel, over a fleet of two servers with 5 and 9 free.
    struct Fixture {
        let folder = TemporaryFolder()
        let prober = ReadyProber(["http://127.0.0.1:9001": 5, "http://127.0.0.1:9002": 9])
        let coordinator: ServiceFleet
        let channel: EmbeddedChannel
        let recorder = UserEventRecorder()

        /// Readings stay fresh for a minute unless told otherwise, so a slow test machine
        /// cannot turn a ready pick into one that waits. `warm` probes both servers first, so
        /// their readings are fresh. The channel is made last: an `EmbeddedChannel` must be used
        /// on the thread that made it, and a test resumes from an `await` on any thread, so
        /// nothing awaits once it exists.
        init(pickToken: String? = nil, freshness: Duration = .seconds(60), warm: Bool = true) async throws {
            let store = try SQLiteSettingsStore(path: folder.file("settings.sqlite"))
            try store.replaceFleetNow(with: FleetList(validating: PickFastPathHandlerTests.fleet), expectedVersion: nil, actor: .api)
            coordinator = FleetCoordinator(configuration: .init(freshness: freshness), prober: prober, clock: EventLoopClock())
            var logger = Logger(label: "test")
            logger.logLevel = .critical
            let follower = FleetListFollower(feed: SQLiteChangeFeed(store: store), coordinator: coordinator, logger: logger)
            follower.refresh()
            if warm { _ = await coordinator.pick() }
            let runtime = FleetRuntime(
                fleet: coordinator, follower: follower, metrics: DispatchMetrics(),
                access: AccessControl(adminToken: nil, pickToken: pickToken), ingress: IngressViewCache(store: store, logger: logger))
            channel = EmbeddedChannel(handlers: [PickFastPathHandler(runtime), recorder])
        }

        /// Sends one request's parts in one read.
        func send(_ method: HTTPRequest.Method = .post, _ path: String = "/v1/pick", headers: HTTPFields = [:], body: String? = nil) throws {
            try channel.writeInbound(HTTPRequestPart.head(HTTPRequest(method: method, scheme: nil, authority: nil, path: path, headerFields: headers)))
            if let body { try channel.writeInbound(HTTPRequestPart.body(ByteBuffer(string: body))) }
            try channel.writeInbound(HTTPRequestPart.end(nil))
        }

        /// Every part handed on towards the router.
        func handedOver() throws -> [HTTPRequestPart] {
            var parts: [HTTPRequestPart] = []
            while let part = try channel.readInbound(as: HTTPRequestPart.self) { parts.append(part) }
            return parts
        }

        /// The answer the handler wrote itself, if any: head, JSON body, its size, and whether
        /// it ended.
        func answer() throws -> (head: HTTPResponse, body: [String: Any], bytes: Int, ended: Bool)? {
            guard case .head(let head)? = try channel.readOutbound(as: HTTPResponsePart.self) else { return nil }
            guard case .body(let body)? = try channel.readOutbound(as: HTTPResponsePart.self) else { return nil }
            let end = try channel.readOutbound(as: HTTPResponsePart.self)
            var ended = false
            if case .end? = end { ended = true }
            return (head, json(body), body.readableBytes, ended)
        }

        /// The router answers one request.
        func routerAnswers() throws {
            try channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .ok)))
            try channel.writeOutbound(HTTPResponsePart.end(nil))
            while try channel.readOutbound(as: HTTPResponsePart.self) != nil {}
        }
    }

    @Test("a ready pick is answered in the pipeline, with the route's headers and body, and not handed over")
    func readyPickAnswered() async throws {
        let fixture = try await Fixture()
        try fixture.send()
        let answer = try #require(try fixture.answer())
        #expect(answer.head.status == .ok)
        #expect(answer.head.headerFields[.contentType] == "application/json")
        #expect(answer.head.headerFields[.date]?.hasSuffix(" GMT") == true)
        #expect(answer.ended)
        #expect(answer.body["server"] as? String == Self.fleet[1])
        // 9 free, less the warm-up pick's reservation.
        #expect(answer.body["available"] as? Int == 8)
        #expect((answer.body["reservation_id"] as? String)?.count == 32)
        #expect(answer.head.headerFields[.contentLength] == String(answer.bytes))
        #expect(try fixture.handedOver().isEmpty)
        // The reservation counts, as on the route: the next answer sees one fewer free.
        try fixture.send()
        #expect(try fixture.answer()?.body["available"] as? Int == 7)
    }

    @Test("a pick that must wait for probes is handed over whole, and probes nothing itself")
    func stalePickHandedOver() async throws {
        let fixture = try await Fixture(warm: false)
        try fixture.send(headers: [.contentType: "application/json"], body: #"{"exclude": []}"#)
        let parts = try fixture.handedOver()
        #expect(parts.count == 3)
        guard parts.count == 3, case .head(let head) = parts[0], case .body(let body) = parts[1], case .end = parts[2] else {
            Issue.record("expected head, body, end: \(parts)")
            return
        }
        #expect(head.path == "/v1/pick" && head.headerFields[.contentType] == "application/json")
        #expect(String(buffer: body) == #"{"exclude": []}"#)
        #expect(try fixture.channel.readOutbound(as: HTTPResponsePart.self) == nil)
        // Probes run in tasks of their own: give one that was wrongly started time to show.
        try await Task.sleep(for: .milliseconds(50))
        #expect(fixture.prober.count == 0)
    }

    @Test("graceful shutdown: a pick still being read is handed over before the quiesce event, and later picks go to the router")
    func quiesceHandsOverTheHeldPick() async throws {
        let fixture = try await Fixture()
        try fixture.channel.writeInbound(HTTPRequestPart.head(HTTPRequest(method: .post, scheme: nil, authority: nil, path: "/v1/pick", headerFields: [.contentLength: "2"])))
        try fixture.channel.writeInbound(HTTPRequestPart.body(ByteBuffer(string: "{")))
        #expect(try fixture.handedOver().isEmpty, "held while its body is read")
        fixture.channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        let parts = try fixture.handedOver()
        #expect(parts.count == 2, "head and the body so far, before the event: \(parts)")
        #expect(fixture.recorder.events.count == 1 && fixture.recorder.events.first is ChannelShouldQuiesceEvent)
        // The rest of the body and the end follow to the router as they arrive.
        try fixture.channel.writeInbound(HTTPRequestPart.body(ByteBuffer(string: "}")))
        try fixture.channel.writeInbound(HTTPRequestPart.end(nil))
        #expect(try fixture.handedOver().count == 2)
        try fixture.routerAnswers()
        try fixture.send()
        #expect(try fixture.handedOver().count == 2, "after the quiesce event every pick goes to the router")
    }

    @Test("after a request with Connection: close, or an error, every pick goes to the router")
    func closingConnectionHandsOver() async throws {
        let closing = try await Fixture()
        try closing.send(.get, "/v1/fleet", headers: [.connection: "close"])
        #expect(try closing.handedOver().count == 2)
        try closing.routerAnswers()
        try closing.send()
        #expect(try closing.handedOver().count == 2)
        #expect(try closing.channel.readOutbound(as: HTTPResponsePart.self) == nil)

        let failing = try await Fixture()
        try failing.channel.writeInbound(HTTPRequestPart.head(HTTPRequest(method: .post, scheme: nil, authority: nil, path: "/v1/pick")))
        failing.channel.pipeline.fireErrorCaught(MalformedRequest())
        #expect(throws: MalformedRequest.self) { try failing.channel.throwIfErrorCaught() }
        #expect(try failing.handedOver().count == 1, "the head that had arrived, then the error")
        try failing.channel.writeInbound(HTTPRequestPart.end(nil))
        #expect(try failing.handedOver().count == 1)
        try failing.routerAnswers()
        try failing.send()
        #expect(try failing.handedOver().count == 2)
    }

    @Test("while the connection cannot take writes, picks go to the router, which waits")
    func notWritableHandsOver() async throws {
        let fixture = try await Fixture()
        fixture.channel.isWritable = false
        try fixture.send()
        #expect(try fixture.handedOver().count == 2)
        try fixture.routerAnswers()
        fixture.channel.isWritable = true
        try fixture.send()
        #expect(try fixture.answer()?.head.status == .ok)
    }

    @Test("while an earlier request waits for the router, a pick is handed over too, so answers keep their order")
    func pipelinedOrderKept() async throws {
        let fixture = try await Fixture()
        try fixture.send(.get, "/v1/fleet")
        try fixture.send()
        #expect(try fixture.handedOver().count == 4, "both requests go to the router")
        // The router answers the first; the second is still to answer.
        try fixture.routerAnswers()
        try fixture.send()
        #expect(try fixture.handedOver().count == 2, "the second request is not answered yet")
        // The router answers the second and the third.
        try fixture.channel.writeOutbound(HTTPResponsePart.end(nil))
        try fixture.channel.writeOutbound(HTTPResponsePart.end(nil))
        // All answered: the next pick is answered in the pipeline again.
        while try fixture.channel.readOutbound(as: HTTPResponsePart.self) != nil {}
        try fixture.send()
        #expect(try fixture.answer()?.head.status == .ok)
        #expect(try fixture.handedOver().isEmpty)
    }

    @Test("other routes, methods and paths are handed over untouched")
    func otherRequestsHandedOver() async throws {
        let fixture = try await Fixture()
        for (method, path) in [(HTTPRequest.Method.get, "/v1/pick"), (.post, "/v1/pick?x=1"), (.post, "/v1/release"), (.get, "/health")] {
            try fixture.send(method, path)
            let parts = try fixture.handedOver()
            guard case .head(let head)? = parts.first else {
                Issue.record("\(method) \(path) not handed over")
                continue
            }
            #expect(head.method == method && head.path == path)
            try fixture.channel.writeOutbound(HTTPResponsePart.end(nil))
        }
    }

    @Test("a bad token, a bad body, Expect, a body too big and Connection: close are left to the route")
    func errorsLeftToTheRoute() async throws {
        let fixture = try await Fixture(pickToken: "secret")
        // The right token and an exclude list: answered here, honouring the exclusion.
        try fixture.send(headers: [.authorization: "Bearer secret"], body: #"{"exclude": ["http://127.0.0.1:9002/"]}"#)
        #expect(try fixture.answer()?.body["server"] as? String == Self.fleet[0])
        let cases: [(HTTPFields, String?)] = [
            ([:], nil),
            ([.authorization: "Bearer wrong"], nil),
            ([.authorization: "Bearer secret"], #"{"exclude": 7}"#),
            ([.authorization: "Bearer secret"], "{,}"),
            ([.authorization: "Bearer secret", .expect: "100-continue"], nil),
            ([.authorization: "Bearer secret", .contentLength: "\(DispatchConfiguration.maximumRequestBodyBytes + 1)"], nil),
            // Last: after it, the connection is closing and every request goes to the router.
            ([.authorization: "Bearer secret", .connection: "Keep-Alive, Close"], nil),
        ]
        for (headers, body) in cases {
            try fixture.send(headers: headers, body: body)
            let parts = try fixture.handedOver()
            #expect(parts.count == (body == nil ? 2 : 3), "\(headers) \(body ?? "")")
            #expect(try fixture.channel.readOutbound(as: HTTPResponsePart.self) == nil)
            try fixture.routerAnswers()
        }
    }

    @Test("a body over the route's limit is handed over with every byte, for the route's 413")
    func oversizedBodyHandedOver() async throws {
        let fixture = try await Fixture()
        let chunk = String(repeating: " ", count: 64 * 1024)
        let chunks = DispatchConfiguration.maximumRequestBodyBytes / chunk.utf8.count + 2
        try fixture.channel.writeInbound(HTTPRequestPart.head(HTTPRequest(method: .post, scheme: nil, authority: nil, path: "/v1/pick")))
        for _ in 0..<chunks { try fixture.channel.writeInbound(HTTPRequestPart.body(ByteBuffer(string: chunk))) }
        try fixture.channel.writeInbound(HTTPRequestPart.end(nil))
        var bytes = 0
        var ended = false
        for part in try fixture.handedOver() {
            switch part {
            case .head: break
            case .body(let body): bytes += body.readableBytes
            case .end: ended = true
            }
        }
        #expect(bytes == chunks * chunk.utf8.count)
        #expect(ended)
        #expect(try fixture.channel.readOutbound(as: HTTPResponsePart.self) == nil)
    }

    @Test("with --freshness-ms 0 every pick is handed over, so each one probes")
    func freshnessZeroHandsOver() async throws {
        let fixture = try await Fixture(freshness: .zero)
        try fixture.send()
        #expect(try fixture.handedOver().count == 2)
    }

    @Test("the Date header is an IMF-fixdate")
    func dateHeader() {
        #expect(HTTPDateHeader.format(secondsSince1970: 784_111_777) == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(HTTPDateHeader.format(secondsSince1970: 0) == "Thu, 01 Jan 1970 00:00:00 GMT")
        var header = HTTPDateHeader()
        let text = header.current()
        #expect(text.count == 29 && text.hasSuffix(" GMT"))
    }
}
