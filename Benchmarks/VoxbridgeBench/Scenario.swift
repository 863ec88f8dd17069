/// A named, self-contained load scenario: the simulated fleet, the dispatcher's options and the
/// load. Both pickers run it against the same sim, one after the other.
struct Scenario: Sendable {
    /// What the bench does before measuring the dispatcher.
    enum WarmUp: Sendable {
        /// A few sequential picks (released at once) to open connections.
        case connections
        /// Picks (released at once) until the dispatcher reports server `index` down; the
        /// measurement starts after that.
        case untilDown(index: Int)
    }

    let name: String
    /// One line for people: the fleet and what the scenario shows.
    let summary: String
    /// How many fleet servers the sim runs.
    let servers: Int
    /// The sim's flags after `--servers`.
    let simArguments: [String]
    /// `serve` options beyond `--port 0 --db …`.
    let dispatcherArguments: [String]
    /// The dispatcher's default probe timeout, which the naive picker uses too.
    static let probeTimeout: Duration = .milliseconds(500)
    var load: LoadShape
    let warmUp: WarmUp

    /// Every scenario, in the order `--scenario all` runs them.
    static let all: [Scenario] = [
        Scenario(
            name: "steady",
            summary: "8 servers × 500 workers, calls 0.5–1.5 s; ample capacity, throughput and probe load",
            servers: 8,
            simArguments: ["--workers", "500", "--call-ms", "uniform:500-1500"],
            dispatcherArguments: [],
            load: .open(ratePerSecond: 1000, duration: .seconds(20)), warmUp: .connections),
        Scenario(
            name: "burst",
            summary: "4 servers × 24 workers with 10, 20, 16, 18 free (64 in all), calls outlast the run; the sim is reset before each round",
            servers: 4,
            simArguments: [
                "--workers", "24", "--busy", "0=14", "--busy", "1=4", "--busy", "2=8", "--busy", "3=6",
                "--call-ms", "fixed:600000",
            ],
            dispatcherArguments: [],
            load: .burst(size: 64, rounds: 3, gap: .milliseconds(2500)), warmUp: .connections),
        Scenario(
            name: "dead-server",
            summary: "4 healthy servers × 32 workers + 1 that accepts and never answers; probe timeout 500 ms; measured once it is down",
            servers: 5,
            simArguments: ["--workers", "32", "--mode", "4=hang", "--call-ms", "uniform:1000-3000"],
            dispatcherArguments: ["--probe-timeout-ms", "500"],
            load: .open(ratePerSecond: 20, duration: .seconds(10)), warmUp: .untilDown(index: 4)),
        Scenario(
            name: "flapping",
            summary: "4 servers × 64 workers, one alternating 1.5 s healthy / 1.5 s answering 500 (and refusing calls)",
            servers: 4,
            simArguments: ["--workers", "64", "--mode", "3=flap:1500:500", "--call-ms", "uniform:500-1500"],
            dispatcherArguments: [],
            load: .open(ratePerSecond: 50, duration: .seconds(15)), warmUp: .connections),
        Scenario(
            name: "flapping-500",
            summary: "4 servers × 400 workers, one alternating 1.5 s healthy / 1.5 s answering 500 (and refusing calls); ten times the rate",
            servers: 4,
            simArguments: ["--workers", "400", "--mode", "3=flap:1500:500", "--call-ms", "uniform:500-1500"],
            dispatcherArguments: [],
            load: .open(ratePerSecond: 500, duration: .seconds(15)), warmUp: .connections),
        Scenario(
            name: "slow-fleet",
            summary: "8 servers × 16 workers whose health answers take 20 ms (another region, a busy VoxCore), calls 2–6 s",
            servers: 8,
            simArguments: ["--workers", "16", "--health-latency-ms", "20", "--call-ms", "uniform:2000-6000"],
            dispatcherArguments: [],
            load: .open(ratePerSecond: 10, duration: .seconds(20)), warmUp: .connections),
        Scenario(
            name: "idle",
            summary: "8 servers × 16 workers and no dialouts: the probe load of the refresh schedule alone",
            servers: 8,
            simArguments: ["--workers", "16"],
            dispatcherArguments: [],
            load: .idle(duration: .seconds(20)), warmUp: .connections),
        Scenario(
            name: "large-fleet",
            summary: "64 servers × 16 workers, calls 1–3 s",
            servers: 64,
            simArguments: ["--workers", "16", "--call-ms", "uniform:1000-3000"],
            dispatcherArguments: [],
            load: .open(ratePerSecond: 100, duration: .seconds(15)), warmUp: .connections),
        Scenario(
            name: "strict",
            summary: "8 servers × 100 workers, calls 0.5–1.5 s; --freshness-ms 0 (every pick probes every up server)",
            servers: 8,
            simArguments: ["--workers", "100", "--call-ms", "uniform:500-1500"],
            dispatcherArguments: ["--freshness-ms", "0"],
            load: .open(ratePerSecond: 200, duration: .seconds(10)), warmUp: .connections),
    ]

    static func named(_ name: String) -> Scenario? {
        all.first { $0.name == name }
    }
}
