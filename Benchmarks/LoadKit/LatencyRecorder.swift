import Histogram

/// Latencies recorded into an HdrHistogram in microseconds (1 µs to 10 minutes, 3 significant
/// digits), and summed up as the percentiles the bench reports.
public struct LatencyRecorder: Sendable {
    /// The histogram, in microseconds.
    public private(set) var histogram: Histogram<UInt64>

    /// An empty recorder.
    public init() {
        histogram = Histogram(lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .three)
        histogram.autoResize = true
    }

    /// Records one latency (negative ones count as 0, longer than the range as the top).
    public mutating func record(_ latency: Duration) {
        let microseconds = max(0, latency.seconds * 1e6)
        _ = histogram.record(UInt64(min(microseconds.rounded(), 600_000_000)))
    }

    /// Adds another recorder's values.
    public mutating func add(_ other: LatencyRecorder) {
        histogram.add(other.histogram)
    }

    /// Values recorded.
    public var count: Int { Int(histogram.totalCount) }

    /// The latency at `percentile` (0–100) in milliseconds; 0 when nothing was recorded.
    public func milliseconds(atPercentile percentile: Double) -> Double {
        guard histogram.totalCount > 0 else { return 0 }
        return Double(histogram.valueAtPercentile(percentile)) / 1000
    }

    /// The largest latency recorded, in milliseconds (within the histogram's precision).
    public var maxMilliseconds: Double {
        histogram.totalCount > 0 ? Double(histogram.max) / 1000 : 0
    }

    /// The summary the bench reports.
    public var summary: LatencySummary {
        LatencySummary(
            count: count,
            p50Ms: milliseconds(atPercentile: 50), p90Ms: milliseconds(atPercentile: 90),
            p99Ms: milliseconds(atPercentile: 99), p999Ms: milliseconds(atPercentile: 99.9),
            maxMs: maxMilliseconds)
    }

    /// The percentile distribution in HdrHistogram's text format (`.hgrm`), values in
    /// milliseconds, which the HdrHistogram plotters read.
    public func percentileDistribution() -> String {
        var text = ""
        histogram.outputPercentileDistribution(to: &text, outputValueUnitScalingRatio: 1000)
        return text
    }
}

/// Pick latency percentiles in milliseconds.
public struct LatencySummary: Sendable, Equatable {
    public var count: Int
    public var p50Ms: Double
    public var p90Ms: Double
    public var p99Ms: Double
    public var p999Ms: Double
    public var maxMs: Double
}
