import Synchronization

/// The change feed of an SQLite settings file: a change made by any process on this host is seen
/// by the next ``poll(_:)``.
///
/// When nothing changed a poll costs one `read` of an inotify queue (``DatabaseChangeWatcher``);
/// when the database files were written, one `PRAGMA data_version` says whether the data changed,
/// and only then is the list read. Without inotify every poll asks SQLite.
final class SQLiteChangeFeed: FleetChangeFeed {
    /// The `data_version` generation last applied; `nil` before the first poll.
    private let appliedGeneration = Mutex<UInt64?>(nil)
    private let store: SQLiteSettingsStore
    private let watcher: DatabaseChangeWatcher?

    init(store: SQLiteSettingsStore) {
        self.store = store
        self.watcher = DatabaseChangeWatcher(databasePath: store.path)
    }

    func poll(_ apply: (FleetSetting) -> Void) throws(SettingsStoreError) {
        let events = watcher?.uncheckedEvents()
        if watcher != nil, events == nil, appliedGeneration.withLock({ $0 != nil }) { return }
        let generation = try store.generation()
        if appliedGeneration.withLock({ $0 == generation }) {
            if let events { watcher?.markChecked(through: events) }
            return
        }
        // Concurrent polls may both read and apply; the follower keeps the highest version.
        apply(try store.fleetNow())
        appliedGeneration.withLock { $0 = generation }
        // Only now: a pick that finds no unchecked events must find the list already applied.
        if let events { watcher?.markChecked(through: events) }
    }

    /// A local file: reachable as long as the process runs (read errors surface in ``poll(_:)``).
    var availability: StoreAvailability { .available }

    /// Nothing runs in the background: polls do the work.
    func run(onAvailabilityChange: @escaping @Sendable (StoreAvailability) -> Void) async {}
}
