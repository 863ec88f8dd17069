import HealthProber
import SettingsStore

/// `fleet add --verify` and the operator page's check: probes a server's `/health/fleet`
/// before it is added.
enum FleetVerifier {
    /// Returns a note about the healthy answer, or throws a one-line failure naming the reason
    /// the server is not healthy (closed port, bad JSON, timeout, …).
    static func verify(_ entry: FleetEntry, configuration: ProberConfiguration) async throws(CommandLineFailure) -> String {
        let prober: HealthProber
        do {
            prober = try HealthProber(configuration: configuration)
        } catch {
            throw CommandLineFailure("cannot verify \(entry.url): \(error)")
        }
        defer { prober.shutdown() }
        switch await prober.probe(entry.url) {
        case .success(let report):
            return report.note
        case .failure(let failure):
            throw CommandLineFailure("not added: \(entry.url)/health/fleet is not healthy (\(failure))")
        }
    }
}
