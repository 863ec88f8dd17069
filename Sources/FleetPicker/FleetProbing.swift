/// Probes one fleet server's health; the seam between the picker and the network.
///
/// The coordinator holds no timer of its own: it relies on every conforming type returning
/// within its own timeout (the HTTP prober's `--probe-timeout-ms`), reporting a timeout as
/// `.failed(reason: "timeout")`. A probe that never returned would keep the picks that wait
/// for it waiting.
public protocol FleetProbing: Sendable {
    /// Probes `server` (a fleet list entry) and reports what it found. Must return within the
    /// prober's timeout, also when the calling task is cancelled.
    func probe(server: String) async -> ProbeResult
}
