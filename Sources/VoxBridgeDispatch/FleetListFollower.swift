import DispatchHTTPServer
import FleetPicker
import Logging
import SettingsStore
import Synchronization

/// Keeps the picker's server list equal to the stored `voxcore_fleet` list.
///
/// ``refresh()`` runs before every pick, so a PUT or a `fleet` command in another process (or, with
/// PostgreSQL, on another host) is used by the very next pick, with no restart. It asks the store's
/// ``FleetChangeFeed``, which never waits on a network: SQLite looks at an inotify queue, then at
/// the file; PostgreSQL hands over what its listener received. When the store cannot be read (a
/// disk error), picks go on with the list already loaded.
final class FleetListFollower: Sendable {
    private let feed: any FleetChangeFeed
    private let coordinator: ServiceFleet
    private let logger: Logger
    /// The setting last applied: the list and the operators' states, each with its version.
    private let applied = Mutex<FleetSetting?>(nil)

    /// The operators' states last applied, with who, why and since when.
    var adminStates: FleetAdminStates {
        applied.withLock { $0?.admin ?? FleetAdminStates() }
    }

    init(feed: any FleetChangeFeed, coordinator: ServiceFleet, logger: Logger) {
        self.feed = feed
        self.coordinator = coordinator
        self.logger = logger
    }

    /// Loads the list into the coordinator if the store changed since the last call, and
    /// returns the version of the list in use.
    @discardableResult
    func refresh() -> Int {
        do {
            try feed.poll { setting in
                let changes: [OperatorStateChange] = applied.withLock { applied in
                    // Concurrent refreshes may read the store in either order; versions only grow,
                    // so the newest read is applied and an older one is not.
                    guard applied.map({ setting.isNewer(than: $0) }) ?? true else { return [] }
                    applied = setting
                    let states = setting.admin.records.compactMapValues { OperatorState(rawValue: $0.state.rawValue) }
                    return coordinator.setServers(setting.list.urls, operatorStates: states)
                }
                for change in changes {
                    let record = setting.admin.records[change.server]
                    let why = record.map { " by \($0.by)" + ($0.reason.map { ": \($0)" } ?? "") } ?? ""
                    logger.notice("fleet server \(change.server): operator state \(change.from.rawValue) -> \(change.to.rawValue)\(why)")
                }
            }
        } catch {
            logger.warning("cannot read the fleet list, picks use the list already loaded: \(error)")
        }
        return applied.withLock { $0?.version ?? 0 }
    }
}
