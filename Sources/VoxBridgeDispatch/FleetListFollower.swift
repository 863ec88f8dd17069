import FleetPicker
import Logging
import SettingsStore
import Synchronization

/// Keeps the picker's server list equal to the stored `voxcore_fleet` list.
///
/// ``refresh()`` runs before every pick, so a PUT or a `fleet` command in another process is used
/// by the very next pick, with no restart. When nothing changed it costs one `read` of an inotify
/// queue (``DatabaseChangeWatcher``); when the database files were written, one `PRAGMA
/// data_version` says whether the data changed. When the database cannot be read (a disk error),
/// picks go on with the list already loaded.
final class FleetListFollower: Sendable {
    private struct Seen {
        var generation: UInt64?
        var version = 0
    }

    private let store: SettingsStore
    private let coordinator: FleetCoordinator<ContinuousClock>
    private let logger: Logger
    private let seen = Mutex(Seen())
    private let watcher: DatabaseChangeWatcher?

    init(store: SettingsStore, coordinator: FleetCoordinator<ContinuousClock>, logger: Logger) {
        self.store = store
        self.watcher = DatabaseChangeWatcher(databasePath: store.path)
        self.coordinator = coordinator
        self.logger = logger
    }

    /// Loads the list into the coordinator if the database changed since the last call, and
    /// returns the version of the list in use.
    @discardableResult
    func refresh() -> Int {
        let events = watcher?.uncheckedEvents()
        if watcher != nil, events == nil, let version = seen.withLock({ $0.generation == nil ? nil : $0.version }) {
            return version
        }
        do {
            let generation = try store.generation()
            if let version = seen.withLock({ $0.generation == generation ? $0.version : nil }) {
                if let events { watcher?.markChecked(through: events) }
                return version
            }
            let setting = try store.fleet()
            let version = seen.withLock { seen in
                // Concurrent refreshes may read the store in either order; versions only grow,
                // so the highest one read is the newest list and an older one is not applied.
                if seen.generation == nil || setting.version >= seen.version {
                    coordinator.setServers(setting.list.urls)
                    seen.generation = generation
                    seen.version = setting.version
                }
                return seen.version
            }
            if let events { watcher?.markChecked(through: events) }
            return version
        } catch {
            logger.warning("cannot read the fleet list, picks use the list already loaded: \(error)")
            return seen.withLock { $0.version }
        }
    }
}
