import ServiceMetrics

/// The rates of the service's counters over the last few seconds, from samples taken by the
/// event service (one per event).
///
/// A value type with the clock's instants passed in, so its arithmetic is tested without waiting.
struct RateWindow: Sendable {
    /// Counts per second.
    struct Rates: Sendable, Equatable {
        var picked = 0.0
        var noCapacity = 0.0
        var probes = 0.0
    }

    /// How far back the oldest sample used may be: long enough to smooth a 1 s event period,
    /// short enough that a change shows within a few seconds.
    let span: Duration
    private var samples: [(at: ContinuousClock.Instant, counts: DispatchCounts)] = []

    init(span: Duration = .seconds(5)) {
        self.span = span
    }

    /// Adds a sample and returns the rates from the oldest sample still inside the span (or the
    /// newest one before it) to this one; zero with a single sample.
    mutating func add(_ counts: DispatchCounts, at now: ContinuousClock.Instant) -> Rates {
        samples.append((now, counts))
        // Keep one sample at or before the span's start, so the window covers the whole span.
        while samples.count > 2, samples[1].at <= now - span { samples.removeFirst() }
        guard let first = samples.first, first.at < now else { return Rates() }
        let seconds = Double((now - first.at).nanoseconds) / 1e9
        return Rates(
            picked: Double(counts.picked - first.counts.picked) / seconds,
            noCapacity: Double(counts.noCapacity - first.counts.noCapacity) / seconds,
            probes: Double(counts.probes - first.counts.probes) / seconds)
    }
}
