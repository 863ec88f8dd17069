import Hummingbird
import Logging
import NIOHTTP1

/// Makes every error answer a JSON body of the API's error shape: errors the routes throw as
/// ``APIError`` pass through; Hummingbird's own (404 for an unknown path, 413 from a body
/// limit) and anything unexpected are converted, the unexpected ones logged as 500s.
///
/// It wraps the router's responder rather than being a router middleware: the same conversion
/// for every request, without the middleware chain's per-request closure (measured 5 % of pick
/// throughput; see docs/BENCHMARKS.md).
public struct JSONErrorResponder<Inner: HTTPResponder>: HTTPResponder where Inner.Context: RequestContext {
    /// The inner responder's context.
    public typealias Context = Inner.Context

    /// The router's responder.
    let inner: Inner

    /// A responder answering every error of `inner` as JSON.
    public init(inner: Inner) {
        self.inner = inner
    }

    /// The inner answer, with every error turned into the API's JSON body.
    public func respond(to request: Request, context: Context) async throws -> Response {
        do {
            let response = try await inner.respond(to: request, context: context)
            // Hummingbird's router turns its own errors (404 for an unknown path) into answers
            // with no body before they reach here; ``APIError`` answers always have one.
            if response.status.code >= 400, response.headers[.contentType] == nil {
                let status = response.status
                return try APIError(status: status, code: Self.code(for: status), message: Self.message(for: status, request: request))
                    .response(from: request, context: context)
            }
            return response
        } catch let error as APIError {
            // Errors thrown past the router are answered here: Hummingbird's server would turn
            // them into a bare 500.
            return try error.response(from: request, context: context)
        } catch let error as any HTTPResponseError {
            return try APIError(status: error.status, code: Self.code(for: error.status), message: Self.message(for: error.status, request: request))
                .response(from: request, context: context)
        } catch let error as HTTPParserError {
            // The body could not be read to its end: the client sent bytes that are not HTTP, or
            // the connection ended mid-body (the client left, or the request timeout closed it).
            // The client's doing, not ours, and a flood of slow bodies must not flood the log.
            context.logger.debug("request body of \(request.method) \(request.uri.path) ended early: \(error)")
            return try APIError(status: .badRequest, code: "bad_request", message: "the request body could not be read: \(error)")
                .response(from: request, context: context)
        } catch {
            context.logger.error("unexpected error answering \(request.method) \(request.uri.path): \(error)")
            return try APIError(status: .internalServerError, code: "internal_error", message: "the request could not be completed")
                .response(from: request, context: context)
        }
    }

    /// The error code for a status Hummingbird answered by itself.
    static func code(for status: HTTPResponse.Status) -> String {
        switch status {
        case .notFound: "not_found"
        case .methodNotAllowed: "method_not_allowed"
        case .contentTooLarge: "payload_too_large"
        case .badRequest: "bad_request"
        default: "http_\(status.code)"
        }
    }

    /// The message for a status Hummingbird answered by itself.
    public static func message(for status: HTTPResponse.Status, request: Request) -> String {
        switch status {
        case .notFound: "no such endpoint: \(request.method) \(request.uri.path)"
        case .contentTooLarge: "the request body is too large"
        default: status.reasonPhrase
        }
    }
}
