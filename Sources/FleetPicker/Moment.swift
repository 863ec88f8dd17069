/// An instant inside ``FleetState``: whole nanoseconds since the state's origin (the first
/// instant it was told).
///
/// The core is generic over its instant type, but code compiled for an unknown instant type calls
/// a witness for every comparison, and even `Duration`'s comparison is an out-of-line call. A
/// plain `Int64` compares in one instruction, so the pick loop does; instants are converted once
/// per call, at the public boundary. Nanoseconds reach ±292 years, and conversions saturate.
struct Moment: Hashable, Comparable, Sendable {
    var nanoseconds: Int64

    static let zero = Moment(nanoseconds: 0)

    init(nanoseconds: Int64) {
        self.nanoseconds = nanoseconds
    }

    /// The moment `duration` after the origin, rounded toward zero to whole nanoseconds.
    init(_ duration: Duration) {
        nanoseconds = Self.nanoseconds(in: duration)
    }

    /// The distance from the origin.
    var duration: Duration { .nanoseconds(nanoseconds) }

    static func < (lhs: Moment, rhs: Moment) -> Bool { lhs.nanoseconds < rhs.nanoseconds }

    static func + (lhs: Moment, rhs: Duration) -> Moment {
        Moment(nanoseconds: saturating(lhs.nanoseconds.addingReportingOverflow(nanoseconds(in: rhs))))
    }

    static func - (lhs: Moment, rhs: Duration) -> Moment {
        Moment(nanoseconds: saturating(lhs.nanoseconds.subtractingReportingOverflow(nanoseconds(in: rhs))))
    }

    static func - (lhs: Moment, rhs: Moment) -> Duration {
        .nanoseconds(saturating(lhs.nanoseconds.subtractingReportingOverflow(rhs.nanoseconds)))
    }

    /// `duration` in whole nanoseconds, saturating at the ends of `Int64`.
    static func nanoseconds(in duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        let whole = saturating(seconds.multipliedReportingOverflow(by: 1_000_000_000))
        return saturating(whole.addingReportingOverflow(attoseconds / 1_000_000_000))
    }

    private static func saturating(_ result: (partialValue: Int64, overflow: Bool)) -> Int64 {
        guard result.overflow else { return result.partialValue }
        // Overflow flips the sign of the wrapped result: a negative partial value came from
        // going past the top.
        return result.partialValue < 0 ? .max : .min
    }
}
