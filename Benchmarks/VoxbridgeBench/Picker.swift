/// A way of choosing the fleet server for each dialout and running the dialout around it: the
/// dispatcher through the callers' client (``DispatcherPicker``) or the naive picker
/// (``NaivePicker``).
protocol Picker: Sendable {
    /// Runs one simulated dialout: pick → `POST /livekit/dialout` on the chosen server → on 429
    /// or 5xx (or no answer) pick again with that server excluded, at most 3 servers; counts
    /// every pick's latency and the outcome into `stats`.
    ///
    /// The first pick's latency runs from `intendedStart` (the arrival's scheduled time in an
    /// open loop), each retry's from when it was sent.
    func dialout(http: LoopbackHTTP, stats: SideStats, intendedStart: ContinuousClock.Instant) async
}
