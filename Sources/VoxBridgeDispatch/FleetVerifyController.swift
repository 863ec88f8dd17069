import DispatchHTTPServer
import Foundation
import HealthProber
import Hummingbird
import SettingsStore

/// `POST /v1/settings/voxcore_fleet/verify` with `{"url": "..."}`: probes a server's
/// `/health/fleet` once, as `fleet add --verify` does, so the operator's page can show the
/// answer before the server is added. It changes nothing.
///
/// Admin-guarded like a settings write: it makes the service connect where the caller says.
/// The URL is validated as a list entry first (http or https only), and refused with the same
/// 400 `invalid_fleet` and one `details` item.
struct FleetVerifyController: Sendable {
    let prober: HealthProber
    let access: AccessControl

    func addRoutes(to router: Router<some RequestContext>) {
        router.post("/v1/settings/voxcore_fleet/verify") { request, _ in try await self.verify(request) }
    }

    private func verify(_ request: Request) async throws -> Response {
        try access.requireAdmin(request)
        let body = try await RequestBody.collect(request, limit: DispatchConfiguration.maximumRequestBodyBytes)
        let object = try RequestBody.json(body, expected: #"{"url": "https://..."}"#)
        guard let text = (object as? [String: Any])?["url"] as? String else {
            throw APIError(status: .badRequest, code: "invalid_request", message: #"the body must be {"url": "https://..."} with the URL as a string"#)
        }
        let entry: FleetEntry
        do {
            entry = try FleetEntry(text)
        } catch {
            throw APIError(status: .badRequest, code: "invalid_fleet", message: "the URL is not acceptable as a fleet entry",
                           details: [["index": .int(0), "value": .string(text), "reason": .string(error.reason)]])
        }
        var answer: [String: JSONValue] = ["url": .string(entry.url)]
        switch await prober.probe(entry.url) {
        case .success(let report):
            answer["healthy"] = .bool(true)
            answer["accepting_calls"] = .bool(report.isAcceptingCalls)
            answer["status"] = .string(report.status)
            answer["workers"] = .int(report.workers)
            answer["active_calls"] = .int(report.activeCalls)
            answer["available"] = .int(report.available)
            answer["latency_ms"] = .double((report.latency.milliseconds * 1_000).rounded() / 1_000)
            answer["error"] = .null
            answer["message"] = .string(report.note)
        case .failure(let failure):
            answer["healthy"] = .bool(false)
            answer["accepting_calls"] = .bool(false)
            answer["status"] = .null
            answer["workers"] = .null
            answer["active_calls"] = .null
            answer["available"] = .null
            answer["latency_ms"] = .double((failure.latency.milliseconds * 1_000).rounded() / 1_000)
            answer["error"] = .string(failure.description)
            answer["message"] = .string("\(entry.url)/health/fleet is not healthy (\(failure))")
        }
        return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
                        body: .init(byteBuffer: ByteBuffer(bytes: JSONValue.object(answer).encoded())))
    }
}
