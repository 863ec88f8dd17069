import DispatchHTTPServer
import FleetPicker
import Foundation
import NIOCore
import ServiceLifecycle
import ServiceMetrics

/// Builds one fleet event every ``FleetEventConfiguration/interval`` (sooner when a server
/// changes state) and publishes it to the open `GET /v1/fleet/events` streams; at graceful
/// shutdown it ends them all.
struct FleetEventService: Service {
    let hub: EventStreamHub
    /// The fleet, its list and the metrics; in a cluster, where the events say which instance
    /// decides.
    let runtime: FleetRuntime
    let configuration: FleetEventConfiguration

    func run() async throws {
        // Graceful shutdown cancels the loop, then every stream ends. (Each stream also ends by
        // itself when the HTTP server's shutdown reaches it, which comes first: the server is
        // the group's last service, so it is stopped first.)
        await cancelWhenGracefulShutdown {
            var rates = RateWindow()
            var sequence = 0
            while !Task.isCancelled {
                sequence += 1
                await hub.publish(Self.event(sequence: sequence, document: document(rates: &rates)),
                                  batch: configuration.fanOutBatch, pause: configuration.fanOutPause)
                // A floor between events, so a flapping fleet's state changes cannot turn the
                // stream into a busy loop; then the rest of the period, cut short by a nudge.
                try? await Task.sleep(for: configuration.minimumGap)
                await hub.sleep(for: configuration.interval - configuration.minimumGap)
            }
        }
        hub.close()
    }

    /// The event's JSON: what `GET /v1/fleet` answers, plus `totals` and `cluster` (who decides).
    func document(rates: inout RateWindow) -> JSONValue {
        let version = runtime.follower.refresh()
        let servers = runtime.fleet.snapshot()
        let now = ContinuousClock.now
        let wallNow = Date.now
        let counts = runtime.metrics.counts()
        let totals = FleetTotals(servers: servers, counts: counts, rates: rates.add(counts, at: now),
                                 generatedAt: FleetStatusDocument.timestamp(wallNow))
        var members = FleetStatusDocument.members(version: version, servers: servers, admin: runtime.follower.adminStates, ingress: runtime.ingress, now: now, wallNow: wallNow)
        members["totals"] = totals.json
        members["cluster"] = (runtime.cluster?.coordinator.status() ?? .single).summary
        return .object(members)
    }

    /// One server-sent event: `id`, `event: fleet` and the JSON on one `data` line.
    static func event(sequence: Int, document: JSONValue) -> ByteBuffer {
        var buffer = ByteBuffer(string: "id: \(sequence)\nevent: fleet\ndata: ")
        buffer.writeBytes(document.encoded())
        buffer.writeString("\n\n")
        return buffer
    }
}
