/// How a serving process learns of fleet-list changes made through any connection, process or
/// host, without a database round trip on the pick path.
///
/// ``poll(_:)`` runs before every pick, so it must be cheap and must not wait on a network: the
/// SQLite feed looks at an inotify queue and, when the file changed, reads it (a local read, as
/// before); the PostgreSQL feed hands over what its listener (``run()``) last received.
public protocol FleetChangeFeed: Sendable {
    /// Calls `apply` with the stored setting when it may have changed since the last call (the
    /// first call always does). `apply` runs before `poll` returns, so a pick that starts after
    /// a change was seen never uses the older list.
    func poll(_ apply: (FleetSetting) -> Void) throws(SettingsStoreError)

    /// Whether the store can be reached now; `/health` reports it.
    var availability: StoreAvailability { get }

    /// Keeps the feed current until the task is cancelled (the PostgreSQL listener, with its
    /// reconnects); returns at once when there is nothing to run (SQLite).
    /// - Parameter onAvailabilityChange: called once per transition between reachable and not.
    func run(onAvailabilityChange: @escaping @Sendable (StoreAvailability) -> Void) async
}
