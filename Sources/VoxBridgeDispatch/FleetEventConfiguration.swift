/// How the fleet event stream (`GET /v1/fleet/events`) behaves.
struct FleetEventConfiguration: Sendable, Equatable {
    /// The longest time between two events; a server changing state sends one sooner.
    var interval: Duration = .seconds(1)
    /// The shortest time between two events, however often servers change state.
    var minimumGap: Duration = .milliseconds(100)
    /// The most streams open at once; more are refused with 503 `too_many_streams`.
    var maximumStreams: Int = 128
}
