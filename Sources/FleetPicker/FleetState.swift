/// The picker's decision core: the servers of the current list and everything known about them.
///
/// A value type with no I/O and no clock of its own: every method that depends on time takes
/// the instant, so tests drive it with a mock instant and production with
/// `ContinuousClock.Instant`. Decisions are `mutating` methods that return what the caller must
/// do (which servers to probe now, which to join, which are due in the background); the caller
/// carries out the I/O and reports back with ``recordProbe(server:startedAt:finishedAt:result:)``.
///
/// A pick runs in three steps: ``planProbes(excluding:arrivedAt:now:)`` says what to probe or
/// wait for, the caller reports the results, and ``pick(excluding:arrivedAt:now:random:)``
/// decides. When every reading is fresh the plan is empty and the pick decides at once.
public struct FleetState<Instant: InstantProtocol>: Sendable where Instant.Duration == Duration {
    /// The rules this state applies.
    public let configuration: FleetPickerConfiguration

    /// Servers in list order; positions, not URLs, are what the pick loop walks.
    var servers: [ServerRecord] = []
    /// `servers[i].figures` for each position, kept beside the records for the pick loop.
    var figures: [PickFigures] = []
    /// The list as last set, to make an unchanged ``setServers(_:)`` a comparison.
    private(set) var urls: [String] = []
    /// Whether a list was set before: servers listed after the first list join with a slow start.
    private var listSeen = false
    /// Whether callers' `failed` reports were refused for the cap since it last had room
    /// (``FleetPickerConfiguration/maxHeldPercent``): the first refused one is reported once.
    var overHeldCap = false
    /// List entry → position in ``servers``.
    var positions: [String: Int] = [:]
    /// Reservations made so far, the counter half of their identities.
    var reservationCounter: UInt64 = 0
    /// No reservation expires before this moment; lets picks skip the expiry sweep. A lower
    /// bound: releases and settles may leave it earlier than needed, which costs one sweep.
    var nextExpiry: Moment?
    /// The instant ``Moment`` zero stands for: the first instant this state was told.
    var origin: Instant?
    /// Jitters the refresh schedule, which is decided when a probe's result is applied.
    var scheduleRandom: FleetRandomSource

    /// Creates an empty fleet.
    /// - Parameters:
    ///   - configuration: The rules it applies.
    ///   - scheduleSeed: Seeds the refresh schedule's jitter, so a run repeats exactly.
    public init(configuration: FleetPickerConfiguration = .init(), scheduleSeed: UInt64 = 0x5EED) {
        self.configuration = configuration
        self.scheduleRandom = FleetRandomSource(seed: scheduleSeed)
    }

    /// Replaces the fleet list: servers that stay keep their state, readings and reservations;
    /// removed ones are dropped with their reservations; new ones start ``ServerState/unknown``.
    ///
    /// A repeated entry counts once, at its first position.
    /// - Returns: Whether the list changed.
    @discardableResult
    public mutating func setServers(_ newURLs: [String]) -> Bool {
        let joinedLate = listSeen
        listSeen = true
        guard newURLs != urls else { return false }
        var old: [String: ServerRecord] = [:]
        old.reserveCapacity(servers.count)
        for record in servers { old[record.url] = record }
        var newServers: [ServerRecord] = []
        newServers.reserveCapacity(newURLs.count)
        var newPositions: [String: Int] = [:]
        newPositions.reserveCapacity(newURLs.count)
        for url in newURLs where newPositions[url] == nil {
            newPositions[url] = newServers.count
            newServers.append(old.removeValue(forKey: url) ?? ServerRecord(url: url, joinedLate: joinedLate))
        }
        servers = newServers
        figures = newServers.map(\.figures)
        positions = newPositions
        urls = newURLs
        return true
    }

    /// The servers in list order, as `/v1/fleet` shows them.
    public func snapshot() -> [ServerSnapshot<Instant>] {
        servers.map { record in
            ServerSnapshot(
                url: record.url,
                state: record.state,
                available: record.reading?.available,
                workers: record.reading?.workers,
                activeCalls: record.reading?.activeCalls,
                reserved: record.reservations.count,
                lastProbeStart: record.lastProbeStart.map(instant(at:)),
                lastLatency: record.lastLatency,
                lastError: record.lastError,
                consecutiveFailures: record.consecutiveFailures,
                heldBy: record.report?.reason,
                busyReports: record.recentReports.count { $0.reason == .busy },
                failedReports: record.recentReports.count { $0.reason == .failed },
                cappedReports: record.recentReports.count { $0.capped },
                slowStartSince: record.slowStartSince.map(instant(at:)),
                operatorState: record.operatorState
            )
        }
    }

    /// Copies the pick loop's figures out of the record at `position`; called after every change
    /// to a record that ``PickFigures`` mirrors.
    @inline(__always)
    mutating func refreshFigures(at position: Int) {
        figures[position] = servers[position].figures
    }

    /// `instant` as a ``Moment``; the first instant ever converted becomes the origin.
    @inline(__always)
    mutating func moment(_ instant: Instant) -> Moment {
        guard let origin else {
            origin = instant
            return .zero
        }
        return Moment(origin.duration(to: instant))
    }

    /// The instant a ``Moment`` stands for. Only moments made by ``moment(_:)`` exist, so the
    /// origin is set whenever there is one to convert.
    func instant(at moment: Moment) -> Instant {
        origin!.advanced(by: moment.duration)
    }

    /// The state of `server`, or `nil` when it is not listed.
    public func state(of server: String) -> ServerState? {
        positions[server].map { servers[$0].state }
    }

    /// Reservations alive on all servers together.
    public var reservationCount: Int {
        servers.reduce(0) { $0 + $1.reservations.count }
    }
}
