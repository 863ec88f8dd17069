import DispatchCluster
import DispatchHTTPServer
import FleetPicker
import Foundation
import Hummingbird
import SettingsStore

/// `POST /v1/pick` and `POST /v1/release`: what the dialout code calls around every dialout.
///
/// Over a live connection, a pick that can be answered at once (authorised, a valid body, every
/// reading fresh, a server with room) is answered earlier, by ``PickFastPathHandler`` in the
/// channel pipeline; this route answers every other pick: those that wait for probes, and every
/// error. Both render the answer with ``answerBody(for:elapsed:allocator:)``.
///
/// In a cluster, a pick or release is decided here only while this instance leads or decides
/// alone; otherwise it is forwarded to the leader (``ClusterParts/answer(_:body:decide:)``).
struct PickController: Sendable {
    /// The fleet, the tokens, the metrics and the cluster.
    let runtime: FleetRuntime

    func addRoutes(to router: Router<some RequestContext>) {
        router.post("/v1/pick") { request, _ in try await self.pick(request) }
        router.post("/v1/release") { request, _ in try await self.release(request) }
    }

    private func pick(_ request: Request) async throws -> Response {
        try runtime.access.requirePicker(request)
        let body = try await RequestBody.collect(request, limit: DispatchConfiguration.maximumRequestBodyBytes)
        let excluded = try Self.excludedServers(in: body)
        // Without a cluster a decision is never undone, so there is always an answer.
        guard let cluster = runtime.cluster else { return try await decidePick(excluding: excluded, fencing: nil)! }
        return try await cluster.answer(request, body: body) { fencing in
            try await decidePick(excluding: excluded, fencing: fencing)
        }
    }

    /// Decides a pick here, under `fencing` (the lease term, in a cluster). `nil` when the
    /// lease ended while deciding: the reservation is undone and the cluster path routes again.
    private func decidePick(excluding excluded: Set<String>, fencing: Int64?) async throws -> Response? {
        guard let decision = await runtime.pick(excluding: excluded, fencing: fencing) else { return nil }
        switch decision.outcome {
        case .picked(let pick):
            var headers: HTTPFields = [.contentType: Self.answerContentType]
            if let fencing { headers[ClusterForwarder.fencingHeader] = String(fencing) }
            if let cluster = runtime.cluster { headers[ClusterForwarder.deciderHeader] = cluster.selfURL }
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: Self.answerBody(for: pick, elapsed: decision.elapsed)))
        case .fleetEmpty:
            throw APIError(status: .serviceUnavailable, code: "fleet_empty",
                           message: "the voxcore_fleet list is empty: add fleet servers with PUT /v1/settings/voxcore_fleet or `voxbridge-dispatch fleet add`")
        case .noCapacity(let passedOver):
            throw APIError(
                status: .serviceUnavailable, code: "no_capacity",
                message: "no fleet server can take a call now",
                extra: ["servers": .array(passedOver.map { server in
                    .object([
                        "url": .string(server.url), "state": .string(server.state.rawValue), "reason": .string(server.reason),
                        "admin_state": .string(server.operatorState.rawValue),
                    ])
                })])
        }
    }

    private func release(_ request: Request) async throws -> Response {
        try runtime.access.requirePicker(request)
        let body = try await RequestBody.collect(request, limit: DispatchConfiguration.maximumRequestBodyBytes)
        let (id, reason) = try Self.releaseRequest(in: body)
        guard let cluster = runtime.cluster else { return try decideRelease(id: id, reason: reason) }
        return try await cluster.answer(request, body: body) { _ in
            try decideRelease(id: id, reason: reason)
        }
    }

    /// Applies a release here (and sends it to the other members, in a cluster).
    private func decideRelease(id: String, reason: ReleaseReason) throws -> Response {
        guard runtime.fleet.release(reservationID: id, reason: reason) else {
            throw APIError(status: .notFound, code: "unknown_reservation",
                           message: "no reservation \(id): it was released, settled by a newer health report, or expired")
        }
        runtime.cluster?.replicator.released(id: id, reason: reason)
        runtime.metrics.recordRelease(reason)
        let json = JSONValue.object([
            "released": .bool(true), "reservation_id": .string(id), "reason": .string(reason.rawValue),
        ]).encoded()
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: json)))
    }

    /// The reservation and the reason of a release body: `{"reservation_id": "…", "reason": "busy"}`,
    /// the reason optional (`not_placed`).
    static func releaseRequest(in body: ByteBuffer) throws(APIError) -> (id: String, reason: ReleaseReason) {
        let shape = #"{"reservation_id": "<the id a pick answered>", "reason": "not_placed" | "busy" | "failed"}"#
        let object = try RequestBody.json(body, expected: shape)
        guard let dictionary = object as? [String: Any], let id = dictionary["reservation_id"] as? String, !id.isEmpty else {
            throw APIError(status: .badRequest, code: "invalid_request", message: "the body must be \(shape), reason optional")
        }
        guard let value = dictionary["reason"], !(value is NSNull) else { return (id, .notPlaced) }
        guard let text = value as? String, let reason = ReleaseReason(rawValue: text) else {
            let shown = String(FleetListError.Problem.render(value).prefix(64))
            throw APIError(status: .badRequest, code: "invalid_request",
                           message: "reason \(shown) is not one of not_placed (the call was not attempted), busy (the fleet server answered 429), failed (it answered 5xx or could not be reached)")
        }
        return (id, reason)
    }

    /// The `Content-Type` of a pick's answer.
    static let answerContentType = "application/json"

    /// The JSON body of a pick's answer, written straight into one buffer: no encoder, no
    /// intermediate strings to grow. Shared by this controller and ``PickFastPathHandler``, so
    /// both paths answer byte for byte alike.
    static func answerBody(for pick: Pick, elapsed: Duration, allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        var json = allocator.buffer(capacity: 160 + pick.server.utf8.count)
        json.writeStaticString(#"{"server":"#)
        JSONText.writeQuoted(pick.server, to: &json)
        json.writeStaticString(#","available":"#)
        json.writeString(String(pick.available))
        json.writeStaticString(#","workers":"#)
        json.writeString(String(pick.workers))
        json.writeStaticString(#","reservation_id":"#)
        JSONText.writeQuoted(pick.reservationID, to: &json)
        json.writeStaticString(#","elapsed_ms":"#)
        json.writeString(JSONText.milliseconds(elapsed))
        json.writeStaticString("}")
        return json
    }

    /// The normalised `exclude` entries of a pick body; an empty body excludes nothing.
    static func excludedServers(in body: ByteBuffer) throws(APIError) -> Set<String> {
        if body.readableBytesView.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) { return [] }
        let object = try RequestBody.json(body, expected: #"an empty body or {"exclude": ["https://..."]}"#)
        guard let dictionary = object as? [String: Any] else {
            throw APIError(status: .badRequest, code: "invalid_request", message: #"the body must be a JSON object such as {"exclude": ["https://..."]}"#)
        }
        guard let value = dictionary["exclude"], !(value is NSNull) else { return [] }
        guard let entries = value as? [Any] else {
            throw APIError(status: .badRequest, code: "invalid_request", message: "exclude must be an array of fleet server URLs")
        }
        var excluded = Set<String>()
        var problems: [[String: JSONValue]] = []
        for (index, element) in entries.enumerated() {
            guard let text = element as? String else {
                problems.append(["index": .int(index), "value": .string(FleetListError.Problem.render(element)), "reason": .string(FleetEntryError.notAString.reason)])
                continue
            }
            do {
                excluded.insert(try FleetEntry(text).url)
            } catch {
                problems.append(["index": .int(index), "value": .string(String(text.prefix(256))), "reason": .string(error.reason)])
            }
        }
        guard problems.isEmpty else {
            throw APIError(status: .badRequest, code: "invalid_request", message: "exclude holds entries that are not fleet server URLs", details: problems)
        }
        return excluded
    }
}
