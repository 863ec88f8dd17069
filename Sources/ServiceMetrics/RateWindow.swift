import DispatchHTTPServer

/// The rates of the service's counters over the last few seconds, from samples taken by the
/// event service (one per event).
///
/// A value type with the clock's instants passed in, so its arithmetic is tested without waiting.
public struct RateWindow: Sendable {
    /// Counts per second.
    public struct Rates: Sendable, Equatable {
        /// Picks answered with a server.
        public var picked = 0.0
        /// Picks answered `no_capacity`.
        public var noCapacity = 0.0
        /// Health probes.
        public var probes = 0.0

        /// Rates as given.
        public init(picked: Double = 0, noCapacity: Double = 0, probes: Double = 0) {
            self.picked = picked
            self.noCapacity = noCapacity
            self.probes = probes
        }
    }

    /// How far back the oldest sample used may be: long enough to smooth a 1 s event period,
    /// short enough that a change shows within a few seconds.
    public let span: Duration
    private var samples: [(at: ContinuousClock.Instant, counts: DispatchCounts)] = []

    /// A window over the last `span`.
    public init(span: Duration = .seconds(5)) {
        self.span = span
    }

    /// Adds a sample and returns the rates from the oldest sample still inside the span (or the
    /// newest one before it) to this one; zero with a single sample.
    public mutating func add(_ counts: DispatchCounts, at now: ContinuousClock.Instant) -> Rates {
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
