import Foundation
import Hummingbird

/// An error answer of the HTTP API: `{"error": code, "message": text, "details": [...]}` with
/// its status. Route handlers throw it; ``JSONErrorResponder`` turns every other error into one.
struct APIError: Error, HTTPResponseError, Sendable {
    /// The HTTP status.
    var status: HTTPResponse.Status
    /// A stable machine-readable code, such as `invalid_fleet`.
    var code: String
    /// A sentence for a person.
    var message: String
    /// Extra JSON-encodable detail, such as one item per bad fleet entry.
    var details: [[String: JSONValue]]? = nil
    /// Extra top-level members (e.g. `servers` of a `no_capacity` answer).
    var extra: [String: JSONValue] = [:]
    /// Extra response headers.
    var headers: HTTPFields = [:]

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var body: [String: JSONValue] = extra
        body["error"] = .string(code)
        body["message"] = .string(message)
        if let details { body["details"] = .array(details.map(JSONValue.object)) }
        var headers = headers
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: JSONValue.object(body).encoded())))
    }

    static func unauthorized() -> APIError {
        APIError(status: .unauthorized, code: "unauthorized",
                 message: "a valid token is required: send Authorization: Bearer <token>",
                 headers: [.wwwAuthenticate: "Bearer"])
    }

    static func invalidJSON(_ message: String) -> APIError {
        APIError(status: .badRequest, code: "invalid_json", message: message)
    }

    static func payloadTooLarge(limit: Int) -> APIError {
        APIError(status: .contentTooLarge, code: "payload_too_large", message: "the request body is larger than \(limit) bytes")
    }
}
