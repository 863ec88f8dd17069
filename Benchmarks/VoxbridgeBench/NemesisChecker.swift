import Foundation

/// The checker over a nemesis run's recorded history: a value, so it decides from the history
/// alone. Each target is a line of the table with its verdict.
struct NemesisChecker: Sendable {
    /// What the run recorded.
    struct History: Sendable {
        var seed: UInt64
        var seconds: Double
        var start: ContinuousClock.Instant
        var dialouts: [ClusterBench.FailoverDialout]
        var faults: [NemesisFaultRecord]
        /// Versions of the list writes an instance acknowledged (200), in the order acknowledged.
        var acknowledged: [Int]
        /// The list's history table at the end, by id: the versions written.
        var storedVersions: [Int]
        /// Each instance's list version at the end (`-1`: it did not answer).
        var finalVersions: [Int]
        /// After each heal, how long until one instance led and the others followed it; `nil`
        /// when that took more than 15 s.
        var settles: [Duration?]
        /// The sim's count of dialouts it refused as full (429).
        var overflow: Int
        /// Fleet servers.
        var servers: Int
    }

    let history: History
    /// Decisions by one instance closer than this belong to one stretch of its deciding.
    static let decidingGap = Duration.milliseconds(250)

    /// Whether a dialout started in a fault's phase: from its start to 1 s after its heal.
    func inFault(_ dialout: ClusterBench.FailoverDialout) -> Bool {
        history.faults.contains { dialout.intended >= $0.start && dialout.intended < $0.end + .seconds(1) }
    }

    /// Terms under which more than one instance decided.
    var termsWithTwoDeciders: [Int64] {
        var deciders: [Int64: Set<String>] = [:]
        for dialout in history.dialouts {
            guard let term = dialout.term, let decider = dialout.decidedBy else { continue }
            deciders[term, default: []].insert(decider)
        }
        return deciders.filter { $0.value.count > 1 }.keys.sorted()
    }

    /// Picks decided under a term lower than one a caller had already seen answer: a decider
    /// that kept deciding after it was replaced.
    var termRegressions: Int { ClusterBench.fencingOverlaps(history.dialouts) }

    /// The first picks under an older term after a newer one answered, each in a line: when it
    /// started and was answered, its term and who decided and answered it, and the newer term.
    var regressionDetails: [String] {
        var firstAnswer: [Int64: ContinuousClock.Instant] = [:]
        for dialout in history.dialouts {
            guard let term = dialout.term, let picked = dialout.picked else { continue }
            if firstAnswer[term].map({ picked < $0 }) ?? true { firstAnswer[term] = picked }
        }
        func at(_ instant: ContinuousClock.Instant) -> String { String(format: "t=%.3f s", (instant - history.start).seconds) }
        return history.dialouts.compactMap { dialout in
            guard let term = dialout.term, let picked = dialout.picked,
                let (newer, answered) = firstAnswer.filter({ $0.key > term && $0.value < dialout.intended }).min(by: { $0.value < $1.value })
            else { return nil }
            return "started \(at(dialout.intended)), answered \(at(picked)) under term \(term), decided by \(dialout.decidedBy ?? "?"), "
                + "asked \(dialout.answeredBy ?? "?"); term \(newer) had answered at \(at(answered))"
        }.prefix(6).map { $0 }
    }

    /// Where two instances decided at once: each instance's decisions form stretches (no gap over
    /// ``decidingGap``); the overlap is where two stretches of different instances meet.
    var overlap: (longest: Duration, total: Duration) {
        var times: [String: [ContinuousClock.Instant]] = [:]
        for dialout in history.dialouts {
            guard let picked = dialout.picked, let decider = dialout.decidedBy else { continue }
            times[decider, default: []].append(picked)
        }
        var edges: [(at: ContinuousClock.Instant, step: Int)] = []
        for list in times.values {
            let sorted = list.sorted()
            guard var first = sorted.first else { continue }
            var last = first
            for time in sorted.dropFirst() {
                if time - last > Self.decidingGap {
                    edges += [(first, 1), (last, -1)]
                    first = time
                }
                last = time
            }
            edges += [(first, 1), (last, -1)]
        }
        // Ends before starts at one instant: stretches that touch do not overlap.
        edges.sort { $0.at < $1.at || ($0.at == $1.at && $0.step < $1.step) }
        var open = 0
        var since = history.start
        var longest = Duration.zero
        var total = Duration.zero
        for edge in edges {
            let before = open
            open += edge.step
            if before < 2, open >= 2 { since = edge.at }
            if before >= 2, open < 2 {
                total += edge.at - since
                longest = max(longest, edge.at - since)
            }
        }
        return (longest, total)
    }

    /// The report: the phases' table, then each target with its verdict.
    func report() -> String {
        let dialouts = history.dialouts
        let phases: [(String, [ClusterBench.FailoverDialout])] = [
            ("no fault", dialouts.filter { !inFault($0) && $0.picked != nil && $0.term != nil }),
            ("fault", dialouts.filter { inFault($0) && $0.picked != nil && $0.term != nil }),
            ("degraded (decided alone)", dialouts.filter { $0.picked != nil && $0.term == nil }),
            ("no pick, no fault", dialouts.filter { $0.picked == nil && !inFault($0) }),
            ("no pick, fault", dialouts.filter { $0.picked == nil && inFault($0) }),
        ]
        var rows = phases.map { name, list in
            "| \(name) | \(list.count) | \(list.filter { $0.failure == "429" }.count) | \(list.filter { $0.picked == nil }.count) | \(list.filter(\.unanswered).count) |"
        }
        rows.insert("| phase | dialouts | 429 (over capacity) | without a pick | no instance answered |", at: 0)
        rows.insert("| --- | --- | --- | --- | --- |", at: 1)

        let picked = dialouts.compactMap(\.picked).sorted()
        var longestGap = Duration.zero
        var gapAt = history.start
        for (earlier, later) in zip(picked, picked.dropFirst()) where later - earlier > longestGap {
            (longestGap, gapAt) = (later - earlier, earlier)
        }
        var reasons: [String: Int] = [:]
        for dialout in dialouts where dialout.picked == nil { reasons[String((dialout.failure ?? "?").prefix(90)), default: 0] += 1 }
        let failedReachable = dialouts.filter { $0.picked == nil && !$0.unanswered && $0.failure != "no_capacity" }.count

        let overflowDecided = dialouts.filter { $0.term != nil && $0.failure == "429" }.count
        let overflowAlone = dialouts.filter { $0.picked != nil && $0.term == nil && $0.failure == "429" }.count
        let (longestOverlap, totalOverlap) = overlap
        let overlapBound = Int((Double(history.servers) * totalOverlap.seconds).rounded(.up))

        let twoDeciders = termsWithTwoDeciders
        let regressions = termRegressions
        let stored = Set(history.storedVersions)
        let lost = history.acknowledged.filter { !stored.contains($0) }
        let storedInOrder = zip(history.storedVersions, history.storedVersions.dropFirst()).allSatisfy { $0 < $1 }
        let acknowledgedInOrder = zip(history.acknowledged, history.acknowledged.dropFirst()).allSatisfy { $0 < $1 }
        let oneVersion = Set(history.finalVersions).count == 1 && (history.finalVersions.first ?? -1) >= (history.acknowledged.last ?? 0)
        let slowSettles = history.settles.filter { $0.map { $0 > .seconds(2) } ?? true }.count
        let slowestSettle = history.settles.compactMap { $0 }.max() ?? .zero
        let lastSettle = history.settles.last ?? nil
        let lastWithin = lastSettle.map { $0 <= .seconds(2) } ?? false

        var kinds: [String: Int] = [:]
        for record in history.faults { for fault in record.faults { kinds[fault.kind, default: 0] += 1 } }
        let stacked = history.faults.filter { $0.faults.count > 1 }.count
        func verdict(_ ok: Bool) -> String { ok ? "ok" : "FAILED" }
        let checks: [(String, String, Bool)] = [
            ("term violations: terms decided by two instances", twoDeciders.isEmpty ? "0" : "\(twoDeciders.count): \(twoDeciders.prefix(5))", twoDeciders.isEmpty),
            ("term violations: picks under an older term after a newer one answered", "\(regressions)", regressions == 0),
            ("acknowledged list writes lost (not in the history table)", "\(lost.count) of \(history.acknowledged.count)\(lost.isEmpty ? "" : ": \(lost.prefix(5))")", lost.isEmpty),
            ("writes in order (acknowledged; history table)", "\(acknowledgedInOrder ? "yes" : "no"); \(storedInOrder ? "yes" : "no") (\(history.storedVersions.count) rows)", acknowledgedInOrder && storedInOrder),
            ("every instance on one version at the end", "\(history.finalVersions.map(String.init).joined(separator: ", ")) (last acknowledged \(history.acknowledged.last ?? 0))", oneVersion),
            ("one leader, the others following, within 2 s of each heal",
             (slowSettles == 0 ? "every heal" : "\(slowSettles) of \(history.settles.count) heals not within 2 s")
                + String(format: "; slowest %.0f ms", slowestSettle.milliseconds)
                + (history.settles.contains { $0 == nil } ? "; once not within 15 s" : ""),
             slowSettles == 0),
            ("... of the last heal", lastSettle.map { String(format: "%.0f ms", $0.milliseconds) } ?? "not within 15 s", lastWithin),
            ("overflow (429) outside degraded phases", "\(overflowDecided)", overflowDecided == 0),
            ("overflow (429) decided alone, against 1 per server per second of overlap", "\(overflowAlone) (bound \(overlapBound))", overflowAlone <= overlapBound),
            ("two instances deciding at once: longest, total", String(format: "%.0f ms, %.0f ms", longestOverlap.milliseconds, totalOverlap.milliseconds), true),
            ("dialouts without a pick although an instance answered", "\(failedReachable)", failedReachable == 0),
        ]
        let failed = checks.filter { !$0.2 }.count
        return """
            ### nemesis (SEED=\(history.seed), \(Int(history.seconds)) s)

            \(history.faults.count) fault steps (\(stacked) with two faults at once): \(kinds.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")).

            \(rows.joined(separator: "\n"))

            | figure | value |
            | --- | --- |
            | 429 answers in all (the sim's count) | \(history.overflow) |
            | longest stretch with no successful pick | \(String(format: "%.0f ms from t=%.2f s", longestGap.milliseconds, (gapAt - history.start).seconds)) |
            | dialouts without a pick, by reason | \(reasons.isEmpty ? "none" : reasons.sorted { $0.value > $1.value }.prefix(4).map { "\($0.value): \($0.key)" }.joined(separator: "; ")) |

            | target | found | verdict |
            | --- | --- | --- |
            \(checks.map { "| \($0.0) | \($0.1) | \(verdict($0.2)) |" }.joined(separator: "\n"))

            \(regressions == 0 ? "" : "Picks under an older term after a newer one answered (the first six):\n" + regressionDetails.map { "- " + $0 }.joined(separator: "\n") + "\n")
            checker: \(failed == 0 ? "all \(checks.count) targets held" : "\(failed) of \(checks.count) targets FAILED")
            """
    }
}
