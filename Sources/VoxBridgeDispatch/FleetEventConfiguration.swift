/// How the fleet event stream (`GET /v1/fleet/events`) behaves.
struct FleetEventConfiguration: Sendable, Equatable {
    /// The longest time between two events; a server changing state sends one sooner.
    var interval: Duration = .seconds(1)
    /// The shortest time between two events, however often servers change state.
    var minimumGap: Duration = .milliseconds(100)
    /// How many streams are woken at once with each event ...
    var fanOutBatch: Int = 8
    /// ... and the pause between two such batches, so the picks are not queued behind a burst of
    /// writes (128 streams: 16 batches over about 30 ms).
    var fanOutPause: Duration = .milliseconds(2)
    /// The most streams open at once; more are refused with 503 `too_many_streams`.
    var maximumStreams: Int = 128
}
