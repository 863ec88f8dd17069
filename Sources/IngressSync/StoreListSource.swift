import Logging
import SettingsStore
import Synchronization

/// The list from the settings store, followed with the change feed `serve` uses (SQLite's change
/// watcher, PostgreSQL's LISTEN/NOTIFY).
public final class StoreListSource: IngressListSource {
    private let feed: any FleetChangeFeed
    private let logger: Logger
    private let latest = Mutex<IngressList?>(nil)

    /// A source on `feed`.
    public init(feed: any FleetChangeFeed, logger: Logger) {
        self.feed = feed
        self.logger = logger
    }

    /// The list with the store's latest change applied.
    public func current() -> IngressList? {
        do {
            try feed.poll { setting in
                let states = setting.admin.records.mapValues(\.state.rawValue)
                latest.withLock { $0 = IngressList(urls: setting.list.urls, operatorStates: states, version: setting.version) }
            }
        } catch {
            logger.warning("cannot read the fleet list, the backend follows the list already loaded: \(error)")
        }
        return latest.withLock { $0 }
    }

    /// Runs the feed (the PostgreSQL listener and its reconnects), logging each transition.
    public func run() async {
        let logger = logger
        await feed.run { availability in
            switch availability {
            case .available: logger.notice("settings store reachable again")
            case .unavailable(let reason): logger.error("settings store unreachable, the backend follows the list already loaded: \(reason)")
            }
        }
    }
}
