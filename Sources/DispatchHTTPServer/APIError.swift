import Foundation
import Hummingbird

/// An error answer of the HTTP API: `{"error": code, "message": text, "details": [...]}` with
/// its status. Route handlers throw it; ``JSONErrorResponder`` turns every other error into one.
public struct APIError: Error, HTTPResponseError, Sendable {
    /// The HTTP status.
    public var status: HTTPResponse.Status
    /// A stable machine-readable code, such as `invalid_fleet`.
    public var code: String
    /// A sentence for a person.
    public var message: String
    /// Extra JSON-encodable detail, such as one item per bad fleet entry.
    public var details: [[String: JSONValue]]? = nil
    /// Extra top-level members (e.g. `servers` of a `no_capacity` answer).
    public var extra: [String: JSONValue] = [:]
    /// Extra response headers.
    public var headers: HTTPFields = [:]

    /// An error answer; only the status, code and message are required.
    public init(
        status: HTTPResponse.Status, code: String, message: String, details: [[String: JSONValue]]? = nil,
        extra: [String: JSONValue] = [:], headers: HTTPFields = [:]
    ) {
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.extra = extra
        self.headers = headers
    }

    /// The JSON body with the status and headers.
    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var body: [String: JSONValue] = extra
        body["error"] = .string(code)
        body["message"] = .string(message)
        if let details { body["details"] = .array(details.map(JSONValue.object)) }
        var headers = headers
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: JSONValue.object(body).encoded())))
    }

    /// 401 `unauthorized`, asking for a bearer token.
    public static func unauthorized() -> APIError {
        APIError(status: .unauthorized, code: "unauthorized",
                 message: "a valid token is required: send Authorization: Bearer <token>",
                 headers: [.wwwAuthenticate: "Bearer"])
    }

    /// 403 `forbidden`: the credential is valid, but not for this request.
    public static func forbidden(_ message: String) -> APIError {
        APIError(status: .forbidden, code: "forbidden", message: message)
    }

    /// 400 `invalid_json` saying what was expected.
    public static func invalidJSON(_ message: String) -> APIError {
        APIError(status: .badRequest, code: "invalid_json", message: message)
    }

    /// 413 `payload_too_large` naming the limit.
    public static func payloadTooLarge(limit: Int) -> APIError {
        APIError(status: .contentTooLarge, code: "payload_too_large", message: "the request body is larger than \(limit) bytes")
    }
}
