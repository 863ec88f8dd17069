import DispatchHTTPServer
import Hummingbird
import HummingbirdTesting
import Logging
import Testing
@testable import VoxBridgeDispatch

/// A responder that fails every request with one error, as a route handler's error that the
/// router does not convert would.
struct ThrowingResponder: HTTPResponder {
    typealias Context = BasicRequestContext
    let error: any Error & Sendable

    func respond(to request: Request, context: Context) async throws -> Response { throw error }
}

@Suite("JSON error answers")
struct JSONErrorResponderTests {
    @Test("errors thrown past the router are answered as JSON with their status, never a bare 500", arguments: [
        (APIError.unauthorized() as any Error & Sendable, HTTPResponse.Status.unauthorized, "unauthorized"),
        (HTTPError(.contentTooLarge), .contentTooLarge, "payload_too_large"),
        (CancellationError(), .internalServerError, "internal_error"),
    ])
    func thrownErrors(error: any Error & Sendable, status: HTTPResponse.Status, code: String) async throws {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let application = Application(responder: JSONErrorResponder(inner: ThrowingResponder(error: error)), logger: logger)
        try await application.test(.router) { client in
            try await client.execute(uri: "/anything", method: .get) { response in
                #expect(response.status == status)
                #expect(response.headers[.contentType] == "application/json; charset=utf-8")
                #expect(json(response.body)["error"] as? String == code)
                #expect(json(response.body)["message"] is String)
            }
        }
    }
}
