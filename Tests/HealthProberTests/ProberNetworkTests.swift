import DispatchTestSupport
import Testing
@testable import HealthProber

/// Probes against real HTTP servers on 127.0.0.1. Serialized: several of these measure time,
/// and the machine has two cores.
@Suite(.serialized) struct ProberNetworkTests {}

/// Helpers shared by the network tests.
enum Fixtures {
    static let healthPath = "/health/fleet"

    /// A name the resolver refuses locally (a 70-character label; DNS allows 63), so a DNS
    /// failure is tested without a query leaving the machine.
    static let unresolvableURL = "http://" + String(repeating: "a", count: 70) + ".invalid"

    static func json(workers: Int, active: Int, extra: String = "") -> TestHTTPServer.Route {
        .json(#"{"workers":\#(workers),"active_calls":\#(active)\#(extra)}"#)
    }

    /// The failure inside `outcome`, or a recorded issue.
    static func failure(_ outcome: ProbeOutcome, sourceLocation: SourceLocation = #_sourceLocation) -> ProbeFailure? {
        switch outcome {
        case .failure(let failure): return failure
        case .success(let report):
            Issue.record("expected a failure, got \(report)", sourceLocation: sourceLocation)
            return nil
        }
    }

    /// Waits until `condition` holds, at most `limit`. Bounded in time.
    static func eventually(within limit: Duration = .seconds(2), _ condition: () -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return condition()
    }
}
