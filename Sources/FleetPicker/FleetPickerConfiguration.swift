/// The picker's tunables; each field matches a `serve` option of the same meaning.
public struct FleetPickerConfiguration: Sendable, Equatable {
    /// How old a reading may be and still serve a pick: its probe must have started at most this
    /// long before the pick arrived. Zero means every pick needs a probe that started at or after
    /// its arrival (`--freshness-ms`).
    public var freshness: Duration
    /// Consecutive failed probes that take a server ``ServerState/down`` (`--fall`).
    public var fall: Int
    /// Consecutive good probes that bring a down server back (`--rise`).
    public var rise: Int
    /// How often a down server is probed in the background, before jitter (`--down-interval-ms`).
    public var downInterval: Duration
    /// A reservation ends when a good probe of its server started at least this long after it,
    /// because by then the server's own report includes the call (`--reservation-settle-ms`).
    public var reservationSettle: Duration
    /// A reservation ends after this long in any case, so a lost release cannot hold capacity
    /// forever and memory stays bounded by the picks of one TTL (`--reservation-ttl-ms`).
    public var reservationTTL: Duration
    /// How often a server that is not down is probed in the background, before jitter, so that
    /// picks find fresh readings without waiting (`--probe-interval-ms`); `nil` lets the picker
    /// choose: 60 % of ``freshness``, and no background refresh at all when freshness is zero
    /// (every pick probes then, and a reading refreshed ahead could never serve one). See
    /// ``refreshInterval``.
    public var probeInterval: Duration?
    /// Slow start: for this long after a server becomes pickable again (added to the list, back
    /// up after down, back from draining), picks may use only part of its free workers, rising
    /// linearly from a tenth to all of them (``FleetState/slowStartCapacity(available:elapsed:window:)``);
    /// zero turns it off (`--slow-start-ms`).
    public var slowStart: Duration
    /// The most of the servers the probes call healthy that callers' `failed` reports may hold
    /// back or take down at once, in percent: `max(1, floor(healthy × percent / 100))` servers;
    /// reports past it are counted but hold nothing back (`--max-held-percent`).
    public var maxHeldPercent: Int

    /// Creates a configuration.
    ///
    /// Counts below 1 are raised to 1 and negative durations to zero, so no setting can make the
    /// picker's rules meaningless.
    ///
    /// - Parameters:
    ///   - freshness: Maximum age of a reading's probe start at pick arrival; default 250 ms.
    ///   - fall: Consecutive failures that take a server down; default 3.
    ///   - rise: Consecutive good probes that bring a down server back; default 2.
    ///   - downInterval: Background probe period for down servers; default 1 s.
    ///   - reservationSettle: Delay after which a good probe's report covers a reservation; default 1 s.
    ///   - reservationTTL: Lifetime of a reservation in any case; default 10 s.
    ///   - probeInterval: Background refresh period of servers that are not down; default `nil`
    ///     (60 % of `freshness`). Zero or negative counts as `nil`.
    ///   - slowStart: The slow start window; default zero (off).
    ///   - maxHeldPercent: The cap on servers callers' reports hold back, in percent of the
    ///     healthy ones; default 50, kept within 0...100.
    public init(
        freshness: Duration = .milliseconds(250),
        fall: Int = 3,
        rise: Int = 2,
        downInterval: Duration = .seconds(1),
        reservationSettle: Duration = .seconds(1),
        reservationTTL: Duration = .seconds(10),
        probeInterval: Duration? = nil,
        slowStart: Duration = .zero,
        maxHeldPercent: Int = 50
    ) {
        self.freshness = max(.zero, freshness)
        self.fall = max(1, fall)
        self.rise = max(1, rise)
        self.downInterval = max(.zero, downInterval)
        self.reservationSettle = max(.zero, reservationSettle)
        self.reservationTTL = max(.zero, reservationTTL)
        self.probeInterval = probeInterval.flatMap { $0 > .zero ? $0 : nil }
        self.slowStart = max(.zero, slowStart)
        self.maxHeldPercent = min(100, max(0, maxHeldPercent))
    }

    /// The period of background refresh probes of servers that are not down, or `nil` when
    /// there are none: ``probeInterval`` when set, else 60 % of ``freshness`` (zero freshness:
    /// none).
    ///
    /// 60 % leaves room, under a freshness window, for the +20 % jitter of a period and for the
    /// probe's own latency; a server slower than that room is probed earlier
    /// (``FleetState/refreshGap(latencyEstimate:random:first:)``). The probe load is then about
    /// `servers / refreshInterval` probes a second, whatever the pick rate.
    public var refreshInterval: Duration? {
        if let probeInterval { return probeInterval }
        return freshness > .zero ? freshness * 0.6 : nil
    }
}
