import DispatchTestSupport
import FleetPicker

/// The fleet state on the mock instant of the test-support target.
typealias Fleet = FleetState<TestInstant>

/// A good probe result; workers default to 32, or `available` when that is more.
func healthy(_ available: Int, workers: Int? = nil, status: String = "ok") -> ProbeResult {
    let workers = workers ?? max(32, available)
    return .healthy(ServerReading(workers: workers, activeCalls: workers - available, available: available, status: status))
}

/// Server names `s0`, `s1`, ….
func names(_ count: Int) -> [String] { (0..<count).map { "s\($0)" } }

extension Fleet {
    /// A fleet of `available.count` servers, each with a good reading from a probe started at `at`.
    static func withReadings(
        _ available: [Int],
        at instant: TestInstant = ms(0),
        configuration: FleetPickerConfiguration = .init()
    ) -> Fleet {
        var fleet = Fleet(configuration: configuration)
        fleet.setServers(names(available.count))
        for (index, free) in available.enumerated() {
            fleet.recordProbe(server: "s\(index)", startedAt: instant, finishedAt: instant, result: healthy(free))
        }
        return fleet
    }

    /// Records a probe result that started and finished at `instant`.
    @discardableResult
    mutating func report(_ server: String, _ result: ProbeResult, at instant: TestInstant) -> StateChange? {
        recordProbe(server: server, startedAt: instant, finishedAt: instant, result: result)
    }

    /// Reservations alive on `server`.
    func reserved(_ server: String) -> Int? {
        snapshot().first { $0.url == server }?.reserved
    }
}

extension PickOutcome {
    /// The pick, if one was made.
    var pick: Pick? {
        if case .picked(let pick) = self { return pick }
        return nil
    }

    /// The passed-over list, if no server could take the call.
    var passedOver: [PassedOver]? {
        if case .noCapacity(let list) = self { return list }
        return nil
    }
}

/// Passes a mutating call's result to `#expect`, which would otherwise try to make the call on an
/// immutable capture of the fleet.
func performed(_ result: Bool) -> Bool { result }
