import FleetPicker
import HealthProber
import ServiceMetrics

/// Lets the picker's coordinator probe through the libcurl ``HealthProber``, translating its
/// report into the picker's reading and counting every probe by result for `/metrics`.
struct HealthProberAdapter: FleetProbing {
    let prober: HealthProber
    let metrics: DispatchMetrics

    func probe(server: String) async -> ProbeResult {
        switch await prober.probe(server) {
        case .success(let report):
            metrics.recordProbe(result: "ok")
            return .healthy(ServerReading(
                workers: report.workers, activeCalls: report.activeCalls, available: report.available, status: report.status))
        case .failure(let failure) where failure.reason == .cancelled:
            // Shutdown or cancellation says nothing about the server.
            metrics.recordProbe(result: failure.reason.code)
            return .abandoned
        case .failure(let failure):
            metrics.recordProbe(result: failure.reason.code)
            return .failed(reason: failure.description)
        }
    }
}
