import DispatchHTTPServer
import Foundation
import HealthProber
import Hummingbird

/// Reading request bodies the same way on every route: a size limit answered with 413, and
/// strict JSON answered with 400 `invalid_json`.
enum RequestBody {
    /// The whole body, refusing one over `limit` bytes (by its Content-Length at once).
    static func collect(_ request: Request, limit: Int) async throws -> ByteBuffer {
        let length = request.headers[.contentLength].flatMap(Int.init)
        if let length, length > limit {
            throw APIError.payloadTooLarge(limit: limit)
        }
        // Most picks have no body: skip reading a stream that is known to be empty.
        if length == 0 || (length == nil && request.headers[.transferEncoding] == nil) {
            return ByteBuffer()
        }
        do {
            return try await request.body.collect(upTo: limit)
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            throw APIError.payloadTooLarge(limit: limit)
        }
    }

    /// The deepest nesting of arrays and objects a request body may have.
    static let maximumJSONDepth = 64

    /// Whether `bytes` is one strict RFC 8259 JSON document nested at most
    /// ``maximumJSONDepth`` deep: checked before `JSONSerialization`, whose Linux parser also
    /// accepts a trailing comma, and iteratively, so a hundred thousand `[` cannot exhaust the stack.
    static func isStrictJSON(_ bytes: some Collection<UInt8>) -> Bool {
        JSONScanner.isValidDocument(bytes, maximumDepth: maximumJSONDepth)
    }

    /// Parses a request body as strict JSON, or throws `invalid_json` saying what was expected.
    static func json(_ body: ByteBuffer, expected: String) throws(APIError) -> Any {
        guard body.readableBytes > 0 else { throw .invalidJSON("the body is empty; expected \(expected)") }
        let bytes = body.readableBytesView
        guard isStrictJSON(bytes),
            let object = try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
        else {
            throw .invalidJSON("the body is not valid JSON (nested at most \(maximumJSONDepth) deep); expected \(expected)")
        }
        return object
    }
}
