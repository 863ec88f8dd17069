/// A mock instant: a plain offset from an arbitrary zero, so tests say "at 250 ms".
public struct TestInstant: InstantProtocol, CustomStringConvertible {
    /// How far after zero.
    public var offset: Duration

    /// The instant `offset` after zero.
    public init(offset: Duration) { self.offset = offset }

    /// The instant `duration` later.
    public func advanced(by duration: Duration) -> TestInstant { TestInstant(offset: offset + duration) }
    /// The time from this instant to `other`.
    public func duration(to other: TestInstant) -> Duration { other.offset - offset }
    /// Whether `lhs` comes first.
    public static func < (lhs: TestInstant, rhs: TestInstant) -> Bool { lhs.offset < rhs.offset }
    /// The offset, as in "0.25 seconds".
    public var description: String { "\(offset)" }
}

/// The instant `milliseconds` after zero.
public func ms(_ milliseconds: Int) -> TestInstant { TestInstant(offset: .milliseconds(milliseconds)) }
