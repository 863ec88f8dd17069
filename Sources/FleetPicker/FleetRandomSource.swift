/// The coordinator's random source: SplitMix64, seedable so tests and replays repeat exactly.
///
/// Used for tie-breaks, reservation identities and background-probe jitter, none of which is a
/// secret, so a fast generator is the right trade. The default seed comes from the system
/// generator.
public struct FleetRandomSource: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// Creates a source that repeats the same sequence for the same `seed`.
    public init(seed: UInt64) {
        state = seed
    }

    /// Creates a source seeded from the system's random generator.
    public init() {
        var system = SystemRandomNumberGenerator()
        state = system.next()
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
