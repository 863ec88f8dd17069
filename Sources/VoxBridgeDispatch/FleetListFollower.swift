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
    /// The version of the list in use; `nil` before the first one is applied.
    private let version = Mutex<Int?>(nil)

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
                version.withLock { version in
                    // Concurrent refreshes may read the store in either order; versions only grow,
                    // so the highest one read is the newest list and an older one is not applied.
                    if version == nil || setting.version >= version! {
                        coordinator.setServers(setting.list.urls)
                        version = setting.version
                    }
                }
            }
        } catch {
            logger.warning("cannot read the fleet list, picks use the list already loaded: \(error)")
        }
        return version.withLock { $0 ?? 0 }
    }
}
