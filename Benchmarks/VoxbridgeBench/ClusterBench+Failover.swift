import DispatchClient
import Foundation
import LoadKit
import Synchronization

/// A value shared by the tasks of one run, behind a lock.
final class LockedBox<Value: Sendable>: Sendable {
    private let value: Mutex<Value>
    init(_ value: Value) { self.value = Mutex(value) }
    func withLock<T>(_ body: (inout Value) -> T) -> T { value.withLock { body(&$0) } }
}

extension ClusterBench {
    /// One dialout of the failover run, as the caller saw it.
    struct FailoverDialout: Sendable {
        var intended: ContinuousClock.Instant
        /// When the first pick was answered (retries on the other instance included).
        var picked: ContinuousClock.Instant?
        /// The lease term the pick was decided under.
        var term: Int64?
        /// The instance that decided the pick (`VoxBridge-Decided-By`), and the one that answered it.
        var decidedBy: String?
        var answeredBy: String?
        var failure: String?
        /// No instance answered the pick (as opposed to an answer such as `no_capacity`).
        var unanswered = false
    }

    /// kill -9 of the leader under 200 dialouts/s, then SIGSTOP of the next leader for 5 s.
    func failover() async throws -> String {
        let simArguments = ["--servers", "4", "--workers", "250", "--call-ms", "uniform:1000-3000"]
        return try await withSim(simArguments) { servers, _ in
            var instances = try await startInstances(clustered: true)
            let urls = instances.map(\.url)
            let clients = urls.indices.map { index in
                DispatchClient(configuration: .init(
                    instances: [urls[index], urls[(index + 1) % urls.count]], requestTimeout: .seconds(1),
                    connectTimeout: .milliseconds(250), maxConnectionsPerInstance: 128))
            }
            do {
                let report = try await runFailover(servers: servers, instances: &instances, clients: clients)
                for client in clients { try? await client.shutdown() }
                await stop(instances)
                return report
            } catch {
                for client in clients { try? await client.shutdown() }
                await stop(instances)
                throw error
            }
        }
    }

    private func runFailover(servers: [String], instances: inout [ClusterInstance], clients: [DispatchClient]) async throws -> String {
        let urls = instances.map(\.url)
        let first = try await settled(urls)
        try await setFleet(servers, writers: [urls[0]], instances: urls)
        let stats = SideStats()
        let log = LockedBox<[FailoverDialout]>([])
        let rate = 200.0
        let total = Duration.seconds(22)
        let start = ContinuousClock.now
        let at: @Sendable (ContinuousClock.Instant) -> String = { String(format: "t=%5.2f s", ($0 - start).seconds) }
        let (http, progress) = (http, progress)

        let bench = self
        let load = Task {
            await bench.openLoop(rate: rate, duration: total) { k, intended in
                let record = LockedBox(FailoverDialout(intended: intended))
                do {
                    try await clients[k % clients.count].dial { pick in
                        record.withLock { record in
                            // The first pick of the dialout is the one measured.
                            if record.picked == nil { (record.picked, record.term) = (ContinuousClock.now, pick.leaseTerm) }
                        }
                        switch await SimDialout.place(on: pick.server, http: http, stats: stats) {
                        case .placed: return .placed
                        case .busy: return .busy
                        default: return .failed
                        }
                    }
                } catch {
                    let unanswered: Bool = if case DispatchClientError.unavailable = error { true } else { false }
                    record.withLock { record in
                        record.failure = String(describing: error).prefix(160).description
                        record.unanswered = unanswered
                    }
                }
                let finished = record.withLock { $0 }
                log.withLock { $0.append(finished) }
            }
        }
        let ticker = Task {
            var lastCount = 0
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                let entries = log.withLock { $0 }
                let recent = entries[lastCount...]
                lastCount = entries.count
                let slowest = recent.compactMap { entry in entry.picked.map { $0 - entry.intended } }.max() ?? .zero
                let terms = Set(recent.compactMap(\.term)).sorted().map(String.init).joined(separator: ",")
                progress.note("[failover] \(at(.now))  dialouts \(recent.count)  failed \(recent.filter { $0.failure != nil }.count)  slowest pick \(String(format: "%.0f", slowest.milliseconds)) ms  terms [\(terms)]  429 so far \(stats.snapshot.rejected429)")
            }
        }

        // Phase 1: kill -9 of the leader at 4 s.
        try await Task.sleep(until: start + .seconds(4))
        let killed = first.leader
        kill(instances[killed].child.pid, SIGKILL)
        let killedAt = ContinuousClock.now
        let overflowBefore = stats.snapshot.rejected429
        progress.note("[failover] \(at(killedAt))  kill -9 of the leader \(urls[killed]) (term \(first.term))")
        let survivors = urls.indices.filter { $0 != killed }.map { urls[$0] }
        let afterKill = try await newLeader(among: survivors, above: first.term, within: .seconds(5))
        let killTakeover = afterKill.at - killedAt
        progress.note("[failover] \(at(afterKill.at))  \(afterKill.url) leads (term \(afterKill.term)), \(String(format: "%.0f", killTakeover.milliseconds)) ms after the kill")

        // The killed instance comes back at 9 s and rejoins as a follower.
        try await Task.sleep(until: start + .seconds(9))
        await instances[killed].child.stop()
        instances[killed] = try await instances[killed].restarted()
        progress.note("[failover] \(at(.now))  \(urls[killed]) restarted")

        // Phase 2: SIGSTOP of the current leader at 12 s, SIGCONT at 17 s.
        try await Task.sleep(until: start + .seconds(12))
        guard let frozen = urls.firstIndex(of: afterKill.url) else { throw ChildProcess.StartError(description: "leader \(afterKill.url) unknown") }
        kill(instances[frozen].child.pid, SIGSTOP)
        let stoppedAt = ContinuousClock.now
        progress.note("[failover] \(at(stoppedAt))  SIGSTOP of the leader \(afterKill.url) (term \(afterKill.term)) for 5 s")
        let others = urls.indices.filter { $0 != frozen }.map { urls[$0] }
        let afterStop = try await newLeader(among: others, above: afterKill.term, within: .seconds(5))
        let stopTakeover = afterStop.at - stoppedAt
        progress.note("[failover] \(at(afterStop.at))  \(afterStop.url) leads (term \(afterStop.term)), \(String(format: "%.0f", stopTakeover.milliseconds)) ms after SIGSTOP")
        try await Task.sleep(until: stoppedAt + .seconds(5))
        kill(instances[frozen].child.pid, SIGCONT)
        let resumedAt = ContinuousClock.now
        var resumedRole = "?"
        var roleAfter = Duration.zero
        while ContinuousClock.now - resumedAt < .seconds(3) {
            if let role = (try? await http.send(.GET, urls[frozen] + "/v1/cluster").json)?["role"] as? String {
                resumedRole = role
                roleAfter = ContinuousClock.now - resumedAt
                if role == "follower" { break }
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        progress.note("[failover] \(at(resumedAt))  SIGCONT: the old leader says \(resumedRole) \(String(format: "%.0f", roleAfter.milliseconds)) ms later")

        await load.value
        ticker.cancel()
        let entries = log.withLock { $0 }
        let overflowAfter = stats.snapshot.rejected429 - overflowBefore
        let killWindow = entries.filter { $0.intended >= killedAt - .milliseconds(200) && $0.intended < killedAt + .seconds(3) }
        let slowestAfterKill = killWindow.compactMap { entry in entry.picked.map { $0 - entry.intended } }.max() ?? .zero
        let failedAfterKill = killWindow.filter { $0.picked == nil }.count
        let failed = entries.filter { $0.picked == nil }
        let unanswered = failed.filter(\.unanswered).count
        let overlaps = Self.fencingOverlaps(entries)
        let stopWindow = entries.filter { $0.intended >= stoppedAt && $0.intended < stoppedAt + .seconds(5) }
        let slowestDuringStop = stopWindow.compactMap { entry in entry.picked.map { $0 - entry.intended } }.max() ?? .zero
        let terms = Set(entries.compactMap(\.term)).sorted()
        progress.note("[failover] done: \(entries.count) dialouts, \(failed.count) without a pick (\(unanswered) unanswered), 429 after the kill \(overflowAfter), fencing overlaps \(overlaps)")
        if let sample = failed.first?.failure { progress.note("[failover] first failure: \(sample)") }
        return """
            ### failover

            4 servers × 250 workers, calls 1–3 s (about 400 calls at once, and 200 reservations until the next reports count them); \(Int(rate)) dialouts/s for \(Self.secondsText(total)) spread over three
            instances, each dialout's client trying its own instance, then once the next (1 s timeout each).
            kill -9 of the leader at 4 s (restarted at 9 s); SIGSTOP of the next leader at 12 s, SIGCONT at 17 s.

            | figure | value |
            | --- | --- |
            | dialouts | \(entries.count) |
            | dialouts without a pick (whole run) | \(failed.count), of which no instance answered: \(unanswered) |
            | kill -9: a new leader decides after | \(String(format: "%.0f ms", killTakeover.milliseconds)) (term \(first.term) → \(afterKill.term)) |
            | kill -9: slowest pick among dialouts started from 0.2 s before to 3 s after | \(String(format: "%.0f ms", slowestAfterKill.milliseconds)) |
            | kill -9: dialouts in that window without a pick | \(failedAfterKill) |
            | 429 answers (a server over capacity) after the kill | \(overflowAfter) |
            | SIGSTOP: another instance decides after | \(String(format: "%.0f ms", stopTakeover.milliseconds)) (term \(afterKill.term) → \(afterStop.term)) |
            | SIGSTOP: slowest pick during the 5 s | \(String(format: "%.0f ms", slowestDuringStop.milliseconds)) |
            | SIGCONT: the old leader's role | \(resumedRole) after \(String(format: "%.0f ms", roleAfter.milliseconds)) |
            | lease terms seen | \(terms.map(String.init).joined(separator: ", ")) |
            | picks decided under an older term after a newer one answered (overlap) | \(overlaps) |
            """
    }

    /// Picks whose request started after some newer term had already answered a pick, yet came
    /// back under an older term: a decider that kept deciding after it was replaced.
    static func fencingOverlaps(_ entries: [FailoverDialout]) -> Int {
        var firstAnswer: [Int64: ContinuousClock.Instant] = [:]
        for entry in entries {
            guard let term = entry.term, let picked = entry.picked else { continue }
            if firstAnswer[term].map({ picked < $0 }) ?? true { firstAnswer[term] = picked }
        }
        return entries.filter { entry in
            guard let term = entry.term else { return false }
            return firstAnswer.contains { newer, answered in newer > term && answered < entry.intended }
        }.count
    }

    private static func secondsText(_ duration: Duration) -> String { String(format: "%.0f s", duration.seconds) }

    /// Polls `urls` until one of them leads under a term above `term`; its URL, term and when.
    private func newLeader(among urls: [String], above term: Int, within limit: Duration) async throws -> (url: String, term: Int, at: ContinuousClock.Instant) {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            for url in urls {
                if let view = try? await http.send(.GET, url + "/v1/cluster").json, view["role"] as? String == "leader",
                    let fencing = (view["lease"] as? [String: Any])?["fencing"] as? Int, fencing > term {
                    return (url, fencing, ContinuousClock.now)
                }
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw ChildProcess.StartError(description: "no new leader among \(urls) within \(limit)")
    }
}
