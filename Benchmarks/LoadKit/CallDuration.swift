import Foundation

/// How long a simulated call holds its worker: a fixed time, a uniform range or an exponential
/// distribution with a cap.
///
/// Written on the command line as `fixed:MS`, `uniform:MIN-MAX` (milliseconds) or `exp:MEAN`
/// (exponential with that mean, capped at ten times the mean so that no call holds a worker for
/// the rest of a run).
public enum CallDuration: Sendable, Equatable, CustomStringConvertible {
    /// Every call lasts this long.
    case fixed(milliseconds: Int)
    /// Uniform between the two bounds, both included.
    case uniform(minMilliseconds: Int, maxMilliseconds: Int)
    /// Exponential with this mean, capped at ten times the mean.
    case exponential(meanMilliseconds: Int)

    /// Reads `fixed:MS`, `uniform:MIN-MAX`, `exp:MEAN` or a bare number of milliseconds.
    public init?(parsing text: String) {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        switch (parts.count, parts.first) {
        case (1, _):
            guard let value = Int(text), value >= 0 else { return nil }
            self = .fixed(milliseconds: value)
        case (2, "fixed"):
            guard let value = Int(parts[1]), value >= 0 else { return nil }
            self = .fixed(milliseconds: value)
        case (2, "uniform"):
            let bounds = parts[1].split(separator: "-").compactMap { Int($0) }
            guard bounds.count == 2, bounds[0] >= 0, bounds[0] <= bounds[1] else { return nil }
            self = .uniform(minMilliseconds: bounds[0], maxMilliseconds: bounds[1])
        case (2, "exp"):
            guard let value = Int(parts[1]), value > 0 else { return nil }
            self = .exponential(meanMilliseconds: value)
        default:
            return nil
        }
    }

    /// Draws one call's duration.
    public func draw(using generator: inout some RandomNumberGenerator) -> Duration {
        switch self {
        case .fixed(let milliseconds):
            return .milliseconds(milliseconds)
        case .uniform(let low, let high):
            return .milliseconds(Int.random(in: low...high, using: &generator))
        case .exponential(let mean):
            // Inverse transform: -mean · ln(U), U in (0, 1].
            let uniform = Double.random(in: Double.ulpOfOne...1, using: &generator)
            let value = min(-Double(mean) * log(uniform), Double(mean) * 10)
            return .microseconds(Int((value * 1000).rounded()))
        }
    }

    public var description: String {
        switch self {
        case .fixed(let milliseconds): "fixed:\(milliseconds)"
        case .uniform(let low, let high): "uniform:\(low)-\(high)"
        case .exponential(let mean): "exp:\(mean)"
        }
    }
}
