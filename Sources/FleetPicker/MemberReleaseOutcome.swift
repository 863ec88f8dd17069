/// What became of a release a cluster member sent (``FleetState/release(reservationID:reason:from:memberLeads:now:)``).
public enum MemberReleaseOutcome: Sendable, Equatable {
    /// Applied, as a caller's release would be.
    case released(ReleaseResult)
    /// No such reservation here (released, settled, expired, or never known).
    case unknown
    /// The reservation is known but the member neither made it nor leads: left as it is.
    case notTheirs
}
