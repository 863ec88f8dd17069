import DispatchHTTPServer
import Foundation
import Hummingbird
import SettingsStore

/// `PUT /v1/fleet/admin` (admin token): an operator drains a server, puts it in maintenance or
/// resumes it; `GET /v1/fleet/admin` (pick token): every listed server's operator state and the
/// latest changes. States are kept in the settings store beside the list, with a version of
/// their own, so the list's ETag does not move; every instance uses a change at its next pick.
struct FleetAdminController: Sendable {
    /// Where the states are kept.
    let store: any FleetSettingsStore
    /// Writes need the admin token, reads the pick token.
    let access: AccessControl

    /// How many changes `GET /v1/fleet/admin` shows.
    static let historyShown = 50

    func addRoutes(to router: Router<some RequestContext>) {
        router.put("/v1/fleet/admin") { request, _ in try await self.set(request) }
        router.get("/v1/fleet/admin") { request, _ in try await self.states(request) }
    }

    private func set(_ request: Request) async throws -> Response {
        try access.requireAdmin(request)
        let body = try await RequestBody.collect(request, limit: DispatchConfiguration.maximumRequestBodyBytes)
        let change = try Self.change(in: body, tokenKind: access.adminToken == nil ? "local" : "admin")
        let record = try await SettingsController.mapStoreError { () async throws(SettingsStoreError) in
            try await store.setAdminState(change, actor: .api)
        }
        return Self.json(Self.json(record))
    }

    private func states(_ request: Request) async throws -> Response {
        try access.requirePicker(request)
        let (setting, history) = try await SettingsController.mapStoreError { () async throws(SettingsStoreError) in
            (try await store.fleet(), try await store.adminHistory(limit: Self.historyShown))
        }
        let servers: [JSONValue] = setting.list.urls.map { url in
            setting.admin.records[url].map(Self.json) ?? .object([
                "url": .string(url), "state": .string("active"), "reason": .null, "by": .null, "since": .null,
            ])
        }
        let changes: [JSONValue] = history.flatMap { entry in
            entry.records.map { record in
                var fields = Self.fields(record)
                fields["version"] = .int(entry.version)
                fields["actor"] = .string(entry.actor.rawValue)
                return .object(fields)
            }
        }
        return Self.json(.object(["version": .int(setting.admin.version), "servers": .array(servers), "history": .array(changes)]))
    }

    /// The change a body asks for: `{"url", "state", "reason"?, "by"?}`; `by` defaults to the
    /// kind of token the caller used.
    static func change(in body: ByteBuffer, tokenKind: String) throws(APIError) -> FleetAdminChange {
        let shape = #"{"url": "<a listed entry>", "state": "active" | "draining" | "maintenance", "reason": "…", "by": "…"}"#
        guard let object = try RequestBody.json(body, expected: shape) as? [String: Any] else {
            throw APIError(status: .badRequest, code: "invalid_request", message: "the body must be \(shape)")
        }
        func text(_ key: String) throws(APIError) -> String? {
            guard let value = object[key], !(value is NSNull) else { return nil }
            guard let text = value as? String else {
                throw APIError(status: .badRequest, code: "invalid_request", message: "\(key) must be a string: \(shape)")
            }
            return text
        }
        guard let url = try text("url"), let state = try text("state") else {
            throw APIError(status: .badRequest, code: "invalid_request", message: "url and state are required: \(shape)")
        }
        let (reason, by) = (try text("reason"), try text("by") ?? tokenKind)
        do throws(FleetAdminChangeError) {
            return try FleetAdminChange(url: url, state: state, reason: reason, by: by)
        } catch {
            throw APIError(status: .badRequest, code: "invalid_request", message: error.description)
        }
    }

    /// A record's members.
    static func fields(_ record: FleetAdminRecord) -> [String: JSONValue] {
        [
            "url": .string(record.url), "state": .string(record.state.rawValue),
            "reason": record.reason.map(JSONValue.string) ?? .null, "by": .string(record.by), "since": .string(record.since),
        ]
    }

    static func json(_ record: FleetAdminRecord) -> JSONValue { .object(fields(record)) }

    static func json(_ value: JSONValue) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(bytes: value.encoded())))
    }
}
