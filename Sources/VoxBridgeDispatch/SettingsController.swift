import DispatchHTTPServer
import Foundation
import Hummingbird
import SettingsStore

/// `GET` and `PUT /v1/settings/voxcore_fleet`: the settings page's view of the fleet list.
struct SettingsController: Sendable {
    let store: any FleetSettingsStore
    let access: AccessControl

    func addRoutes(to router: Router<some RequestContext>) {
        router.get("/v1/settings/voxcore_fleet") { request, _ in try await self.read(request) }
        router.put("/v1/settings/voxcore_fleet") { request, _ in try await self.write(request) }
    }

    private func read(_ request: Request) async throws -> Response {
        try access.requirePicker(request)
        return Self.response(for: try await Self.mapStoreError { () async throws(SettingsStoreError) in try await store.fleet() })
    }

    /// Checks in the contract's order of precedence: 401, 413, 400, 412.
    private func write(_ request: Request) async throws -> Response {
        try access.requireAdmin(request)
        let body = try await RequestBody.collect(request, limit: DispatchConfiguration.maximumRequestBodyBytes)
        let list = try Self.decodeFleetList(body)
        let expectedVersion = try Self.expectedVersion(request)
        // The store keeps slow work off this event loop thread (SQLite: a dispatch queue, for its
        // busy timeout; PostgreSQL: non-blocking I/O).
        let setting = try await Self.mapStoreError { () async throws(SettingsStoreError) in
            try await store.replaceFleet(with: list, expectedVersion: expectedVersion, actor: .api)
        }
        return Self.response(for: setting)
    }

    // MARK: - Request parts

    /// Parses `{"voxcore_fleet": [...]}` into a valid list, or throws the 400 that says why.
    static func decodeFleetList(_ body: ByteBuffer) throws(APIError) -> FleetList {
        let object = try RequestBody.json(body, expected: "{\"voxcore_fleet\": [\"https://...\"]}")
        guard let dictionary = object as? [String: Any] else {
            throw invalidFleet("the body must be a JSON object {\"voxcore_fleet\": [...]}")
        }
        guard let value = dictionary["voxcore_fleet"] else {
            throw invalidFleet("the body has no \"voxcore_fleet\" member")
        }
        do {
            return try FleetList(validatingJSONValue: value)
        } catch {
            throw APIError(
                status: .badRequest, code: "invalid_fleet", message: error.message,
                details: error.problems.map { problem in
                    ["index": .int(problem.index), "value": .string(problem.value), "reason": .string(problem.reason)]
                })
        }
    }

    private static func invalidFleet(_ message: String) -> APIError {
        APIError(status: .badRequest, code: "invalid_fleet", message: message, details: [])
    }

    /// The version an `If-Match` header requires, `nil` when there is none or it is `*`.
    ///
    /// Accepts `"3"`, `W/"3"` and a bare `3`. A header that names no version (an empty one too:
    /// an empty list of entity tags matches nothing, RFC 9110 §13.1.1) cannot match any, so it
    /// answers 412 like a stale one.
    static func expectedVersion(_ request: Request) throws(APIError) -> Int? {
        guard let header = request.headers[.ifMatch]?.trimmingCharacters(in: .whitespaces) else { return nil }
        if header == "*" { return nil }
        var tag = Substring(header)
        if tag.hasPrefix("W/") { tag = tag.dropFirst(2) }
        if tag.hasPrefix("\""), tag.hasSuffix("\""), tag.count >= 2 { tag = tag.dropFirst().dropLast() }
        guard let version = Int(tag), version >= 0 else {
            throw APIError(status: .preconditionFailed, code: "version_conflict",
                           message: "If-Match must name a version such as \"3\" (the ETag of GET /v1/settings/voxcore_fleet)")
        }
        return version
    }

    // MARK: - Answers

    static func response(for setting: FleetSetting) -> Response {
        let body: JSONValue = .object([
            "voxcore_fleet": .array(setting.list.urls.map(JSONValue.string)),
            "version": .int(setting.version),
            "updated_at": .string(setting.updatedAt),
        ])
        return Response(
            status: .ok,
            headers: [.contentType: "application/json; charset=utf-8", .eTag: "\"\(setting.version)\""],
            body: .init(byteBuffer: ByteBuffer(bytes: body.encoded())))
    }

    /// Runs a store call, answering its failures: a version conflict is 412, a URL the list does
    /// not hold 404 `unknown_server`, an unreachable store 503 `store_unavailable`, other storage
    /// trouble 503 `settings_unavailable`.
    static func mapStoreError<T>(_ body: () async throws(SettingsStoreError) -> T) async throws(APIError) -> T {
        do {
            return try await body()
        } catch .unavailable(let store, let reason) {
            throw APIError(status: .serviceUnavailable, code: "store_unavailable",
                           message: SettingsStoreError.unavailable(store: store, reason: reason).description)
        } catch .notListed(let url) {
            throw APIError(status: .notFound, code: "unknown_server", message: SettingsStoreError.notListed(url: url).description)
        } catch .versionConflict(let expected, let current) {
            throw APIError(status: .preconditionFailed, code: "version_conflict",
                           message: SettingsStoreError.versionConflict(expected: expected, current: current).description,
                           extra: ["current_version": .int(current)])
        } catch {
            throw APIError(status: .serviceUnavailable, code: "settings_unavailable", message: error.description)
        }
    }
}
