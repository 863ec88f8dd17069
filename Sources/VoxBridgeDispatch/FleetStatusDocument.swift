import DispatchHTTPServer
import FleetPicker
import Foundation
import IngressSync
import SettingsStore

/// The body of `GET /v1/fleet`, built in one place so the event stream sends exactly the same
/// members (plus its totals).
enum FleetStatusDocument {
    /// `{"version": N, "servers": [...]}` members for the list `version` and its snapshot.
    ///
    /// Probe times are the monotonic clock's; they are shown as wall-clock times by their age.
    static func members(
        version: Int, servers: [ServerSnapshot<ContinuousClock.Instant>], admin: FleetAdminStates = FleetAdminStates(),
        ingress: IngressViewCache? = nil, now: ContinuousClock.Instant = .now, wallNow: Date = .now
    ) -> [String: JSONValue] {
        [
            "version": .int(version),
            "servers": .array(servers.map { server in
                var object: [String: JSONValue] = [
                    "url": .string(server.url),
                    "state": .string(server.state.rawValue),
                    "available": server.available.map(JSONValue.int) ?? .null,
                    "workers": server.workers.map(JSONValue.int) ?? .null,
                    "active_calls": server.activeCalls.map(JSONValue.int) ?? .null,
                    "reserved": .int(server.reserved),
                    "last_probe_at": server.lastProbeStart.map { .string(timestamp(wallNow - (now - $0).timeInterval)) } ?? .null,
                    "last_latency_ms": server.lastLatency.map { .double(($0.milliseconds * 1_000).rounded() / 1_000) } ?? .null,
                    "last_error": server.lastError.map(JSONValue.string) ?? .null,
                    "consecutive_failures": .int(server.consecutiveFailures),
                    "held_by_report": server.heldBy.map { .string($0.rawValue) } ?? .null,
                    "reports_last_minute": .object([
                        "busy": .int(server.busyReports), "failed": .int(server.failedReports), "capped": .int(server.cappedReports),
                    ]),
                    "admin_state": .string(server.operatorState.rawValue),
                    "admin_reason": admin.records[server.url]?.reason.map(JSONValue.string) ?? .null,
                    "admin_since": admin.records[server.url].map { .string($0.since) } ?? .null,
                    "slow_start_since": server.slowStartSince.map { .string(timestamp(wallNow - (now - $0).timeInterval)) } ?? .null,
                ]
                let inbound = ingress?.inbound(server.url, now: wallNow) ?? (ingresses: [], missing: false)
                object["ingress"] = .array(inbound.ingresses.map(json))
                object["missing_inbound"] = .bool(inbound.missing)
                return .object(object)
            }),
        ]
    }

    /// One ingress's view of a server.
    private static func json(_ inbound: IngressViewCache.Inbound) -> JSONValue {
        .object(["ingress": .string(inbound.ingress), "state": .string(inbound.state), "up": .bool(inbound.up), "stale": .bool(inbound.stale)])
    }

    /// An ISO 8601 time with milliseconds, as every time in the API is shown.
    static func timestamp(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}
