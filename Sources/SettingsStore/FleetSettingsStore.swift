/// Where the fleet list lives: the one interface the rest of the program uses, whichever database
/// holds the list (an SQLite file, ``SQLiteSettingsStore``, or PostgreSQL, shared by several
/// dispatchers).
///
/// Every implementation behaves the same: the same validation (a ``FleetList`` is valid by
/// construction), the version raised by one on every accepted write (an identical list too), the
/// `If-Match` check inside the write's transaction, one history row per accepted write, and the
/// same ``SettingsStoreError`` cases for the same situations. The operators' states of the listed
/// servers (``FleetAdminStates``) are a second setting beside the list, with a version and a
/// history of their own; a list write that drops a server drops its state in the same transaction. A store that cannot be reached
/// throws ``SettingsStoreError/unavailable(store:reason:)`` and changes nothing.
public protocol FleetSettingsStore: Sendable {
    /// The store for messages and logs: a file path or a URL without its password.
    var location: String { get }

    /// The current fleet list with its version and time.
    func fleet() async throws(SettingsStoreError) -> FleetSetting

    /// The accepted writes of the fleet list, newest first.
    func history(limit: Int) async throws(SettingsStoreError) -> [SettingsHistoryEntry]

    /// Replaces the fleet list, raising the version by one (an identical list too).
    /// - Parameter expectedVersion: when set, the write happens only if it is the current version
    ///   (`If-Match`); otherwise ``SettingsStoreError/versionConflict(expected:current:)``.
    func replaceFleet(with list: FleetList, expectedVersion: Int?, actor: SettingsActor) async throws(SettingsStoreError) -> FleetSetting

    /// Appends `entry` to the fleet list unless it is already listed (then nothing changes).
    func addFleetEntry(_ entry: FleetEntry, actor: SettingsActor) async throws(SettingsStoreError) -> FleetAddResult

    /// Removes `entry` from the fleet list. Returns `nil`, changing nothing, when it is not listed.
    func removeFleetEntry(_ entry: FleetEntry, actor: SettingsActor) async throws(SettingsStoreError) -> FleetSetting?

    /// The operators' states of the listed servers, with their own version.
    func adminStates() async throws(SettingsStoreError) -> FleetAdminStates

    /// Sets one listed server's operator state, raising the states' version by one (the list's
    /// stays) and keeping the change in the history.
    /// - Throws: ``SettingsStoreError/notListed(url:)`` when the list does not hold the URL.
    func setAdminState(_ change: FleetAdminChange, actor: SettingsActor) async throws(SettingsStoreError) -> FleetAdminRecord

    /// The changes of the operators' states, newest first.
    func adminHistory(limit: Int) async throws(SettingsStoreError) -> [FleetAdminHistoryEntry]

    /// Records what one ingress sync sees of its HAProxy backend, replacing its last view;
    /// neither the list's version nor its history moves.
    func recordIngressView(_ view: IngressView) async throws(SettingsStoreError)

    /// The views every ingress sync recorded, by ingress name.
    func ingressViews() async throws(SettingsStoreError) -> [IngressView]

    /// What a serving process follows to use every change, made anywhere, on its next pick.
    func makeChangeFeed() async throws(SettingsStoreError) -> any FleetChangeFeed

    /// Releases the store's connections; the store is not used afterwards.
    func close() async
}

extension FleetSettingsStore {
    /// The newest 100 accepted writes, newest first.
    public func history() async throws(SettingsStoreError) -> [SettingsHistoryEntry] {
        try await history(limit: 100)
    }

    /// Replaces the fleet list without an `If-Match` condition.
    @discardableResult
    public func replaceFleet(with list: FleetList, actor: SettingsActor) async throws(SettingsStoreError) -> FleetSetting {
        try await replaceFleet(with: list, expectedVersion: nil, actor: actor)
    }
}
