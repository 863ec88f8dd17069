// Probes per second of HealthProber at a fixed number of concurrent probes, against local
// health servers. Closed loop: each of `--concurrency` workers starts its next probe as soon as
// its previous one ends, for `--seconds` after a one-second warm-up.
//
//   swift run -c release ProberBench [--concurrency 64] [--seconds 5] [--servers 4] [--url URL ...]
//
// Without --url it starts --servers in-process BenchServer instances (their CPU competes with
// the prober's on the same cores); with --url it probes those servers (e.g. a local nginx).
#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import HealthProber

struct Options {
    var concurrency = 64
    var seconds = 5
    var servers = 4
    var urls: [String] = []

    static func parse(_ arguments: [String]) -> Options {
        var options = Options()
        var iterator = arguments.dropFirst().makeIterator()
        while let argument = iterator.next() {
            let value = iterator.next() ?? ""
            switch argument {
            case "--concurrency": options.concurrency = max(1, min(Int(value) ?? 64, 4096))
            case "--seconds": options.seconds = max(1, min(Int(value) ?? 5, 60))
            case "--servers": options.servers = max(1, min(Int(value) ?? 4, 64))
            case "--url": options.urls.append(value)
            default:
                print("usage: ProberBench [--concurrency N] [--seconds S] [--servers N] [--url URL ...]")
                exit(2)
            }
        }
        return options
    }
}

/// Successes, failures and latencies of one measured window.
struct Tally: Sendable {
    var ok = 0
    var failed: [String: Int] = [:]
    var latencies: [Duration] = []

    mutating func merge(_ other: Tally) {
        ok += other.ok
        failed.merge(other.failed, uniquingKeysWith: +)
        latencies += other.latencies
    }
}

func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    let user = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
    let system = Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
    return user + system
}

func run(prober: HealthProber, urls: [String], concurrency: Int, for duration: Duration) async -> Tally {
    let deadline = ContinuousClock.now + duration
    return await withTaskGroup(of: Tally.self) { group in
        for worker in 0..<concurrency {
            group.addTask {
                var tally = Tally()
                var index = worker
                while ContinuousClock.now < deadline {
                    switch await prober.probe(urls[index % urls.count]) {
                    case .success(let report):
                        tally.ok += 1
                        tally.latencies.append(report.latency)
                    case .failure(let failure):
                        tally.failed[failure.reason.code, default: 0] += 1
                    }
                    index += 1
                }
                return tally
            }
        }
        var total = Tally()
        for await tally in group { total.merge(tally) }
        return total
    }
}

let options = Options.parse(CommandLine.arguments)
let body = #"{"workers":16,"active_calls":5,"available":11,"status":"ok"}"#
let servers = options.urls.isEmpty ? (0..<options.servers).map { _ in BenchServer(body: body) } : []
let urls = options.urls.isEmpty ? servers.map { "http://127.0.0.1:\($0.port)" } : options.urls
let prober = try HealthProber(configuration: .init(timeout: .seconds(2)))

_ = await run(prober: prober, urls: urls, concurrency: options.concurrency, for: .seconds(1))
let cpuBefore = processCPUSeconds()
let started = ContinuousClock.now
let tally = await run(prober: prober, urls: urls, concurrency: options.concurrency, for: .seconds(options.seconds))
let elapsed = ContinuousClock.now - started
let cpu = processCPUSeconds() - cpuBefore
prober.shutdown()
for server in servers { server.stop() }

let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
let latencies = tally.latencies.sorted()
func percentile(_ p: Double, of latencies: [Duration]) -> String {
    guard !latencies.isEmpty else { return "-" }
    let value = latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]
    let micro = Double(value.components.attoseconds) / 1e12 + Double(value.components.seconds) * 1e6
    return String(Int(micro.rounded())) + " µs"
}
let target = options.urls.isEmpty ? "\(servers.count) in-process BenchServer(s)" : options.urls.joined(separator: " ")
print("target: \(target)")
print("concurrency: \(options.concurrency), window: \(options.seconds) s (after 1 s warm-up), nproc: \(sysconf(Int32(_SC_NPROCESSORS_ONLN)))")
print("probes ok: \(tally.ok), failed: \(tally.failed.isEmpty ? "0" : "\(tally.failed)")")
print("probes/s: \(Int((Double(tally.ok) / seconds).rounded()))")
print("latency p50: \(percentile(0.5, of: latencies)), p99: \(percentile(0.99, of: latencies)), max: \(percentile(1.0, of: latencies))")
func twoDecimals(_ value: Double) -> String { String(Double(Int((value * 100).rounded())) / 100) }
print("process CPU: \(twoDecimals(cpu)) s over \(twoDecimals(seconds)) s (\(Int((cpu / seconds * 100).rounded())) % of one core)")
