import Hummingbird
import Logging

/// Makes every error answer a JSON body of the contract's shape: errors the routes throw as
/// ``APIError`` pass through; Hummingbird's own (404 for an unknown path, 413 from a body
/// limit) and anything unexpected are converted, the unexpected ones logged as 500s.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            throw error
        } catch let error as any HTTPResponseError {
            throw APIError(status: error.status, code: Self.code(for: error.status), message: Self.message(for: error.status, request: request))
        } catch {
            context.logger.error("unexpected error answering \(request.method) \(request.uri.path): \(error)")
            throw APIError(status: .internalServerError, code: "internal_error", message: "the request could not be completed")
        }
    }

    static func code(for status: HTTPResponse.Status) -> String {
        switch status {
        case .notFound: "not_found"
        case .methodNotAllowed: "method_not_allowed"
        case .contentTooLarge: "payload_too_large"
        case .badRequest: "bad_request"
        default: "http_\(status.code)"
        }
    }

    static func message(for status: HTTPResponse.Status, request: Request) -> String {
        switch status {
        case .notFound: "no such endpoint: \(request.method) \(request.uri.path)"
        case .contentTooLarge: "the request body is too large"
        default: status.reasonPhrase
        }
    }
}
