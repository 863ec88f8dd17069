import Foundation

/// Writes the progress line and notes to standard error, so that standard output holds only the
/// tables and the JSON line. On a terminal the line is rewritten in place every second; into a
/// pipe (`make bench`) a line is written every 5 s.
struct ProgressPrinter: Sendable {
    let interactive = isatty(2) != 0

    func note(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    /// Prints the running figures until cancelled.
    func follow(label: String, stats: SideStats, nominal: Duration) async {
        let start = ContinuousClock.now
        let every: Duration = interactive ? .seconds(1) : .seconds(5)
        var printed = false
        while !Task.isCancelled {
            try? await Task.sleep(for: every)
            if Task.isCancelled { break }
            let counts = stats.snapshot
            let elapsed = (ContinuousClock.now - start).seconds
            let line = "[\(label)] " + String(
                format: "%3.0f/%.0f s  picks %d (%.0f/s)  p99 %.2f ms  placed %d  429 %d  no cap %d  errors %d",
                elapsed, nominal.seconds, counts.picks.count, Double(counts.picks.count) / max(elapsed, 0.001),
                counts.picks.milliseconds(atPercentile: 99), counts.dialoutsPlaced, counts.rejected429,
                counts.noCapacity, counts.errors)
            FileHandle.standardError.write(Data((interactive ? "\r\u{1B}[K" + line : line + "\n").utf8))
            printed = true
        }
        if interactive, printed { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
