import CSQLite
import Foundation
import Synchronization

/// The settings database: one SQLite file holding the current `voxcore_fleet` list and the
/// history of every accepted write.
///
/// The file is opened in WAL mode with a busy timeout, so `serve` and the `fleet` command can use
/// it at once: readers never block, and a writer waits for another writer instead of failing.
/// Every write is one `BEGIN IMMEDIATE` transaction that updates the setting and appends to the
/// history together, so a crash never leaves half a write.
///
/// A change made by another process (or another connection) is seen through ``generation()``,
/// which reads `PRAGMA data_version`: cheap enough to call before every pick (``SQLiteChangeFeed``
/// calls it only when inotify says the files were written).
///
/// The ``FleetSettingsStore`` methods run their SQLite calls on a dispatch queue, not on the
/// caller's thread: a write may wait up to the busy timeout for another process's lock, and the
/// caller may be an event loop thread whose other connections would wait with it.
///
/// Two connections: reads (``fleet()``, ``generation()``, ``history(limit:)``) use their own, so
/// that a write waiting up to the busy timeout for another process's lock, or for its commit's
/// fsync, never holds up the pick path; in WAL mode a reader never waits for a writer.
public final class SQLiteSettingsStore: FleetSettingsStore {
    /// The schema this build writes and reads (`PRAGMA user_version`).
    public static let schemaVersion = 1
    /// The key of the fleet list in the settings table.
    public static let fleetKey = "voxcore_fleet"

    /// The database file's path.
    public let path: String

    /// The database file's path.
    public var location: String { path }

    private struct Reader {
        let connection: SQLiteConnection
        /// The last `PRAGMA data_version` seen; it changes when another connection commits,
        /// the store's own writing connection included.
        var lastDataVersion: Int64
        /// Raised whenever the data may have changed.
        var generation: UInt64
    }

    /// The connection for reads, with what change detection has seen.
    private let reader: Mutex<Reader>
    /// The connection for writes; its lock keeps one transaction at a time.
    private let writer: Mutex<SQLiteConnection>

    /// Opens (or creates) the database at `path`, checks it, and brings its schema up to date.
    /// - Parameter busyTimeoutMilliseconds: how long a write waits for another process's write.
    /// - Throws: ``SettingsStoreError``: `cannotOpen`, `notADatabase`, `corrupt`, `schemaTooNew`.
    ///   A file that is not a database, or is damaged, is left exactly as it was.
    public init(path: String, busyTimeoutMilliseconds: Int32 = 5_000) throws(SettingsStoreError) {
        self.path = path
        let exists = FileManager.default.fileExists(atPath: path)
        let connection = try SQLiteConnection(path: path, create: !exists)
        connection.setBusyTimeout(milliseconds: busyTimeoutMilliseconds)

        // Read-only checks first: none of them writes, so a foreign or damaged file is untouched.
        let userVersion = try connection.integer("PRAGMA user_version")
        if exists {
            let check = try connection.query("PRAGMA quick_check")
            guard check == [[.text("ok")]] else {
                let firstProblem = check.first.flatMap { row -> String? in
                    if case .text(let text)? = row.first { text } else { nil }
                } ?? "quick_check failed"
                throw .corrupt(reason: firstProblem)
            }
        }
        guard userVersion <= Self.schemaVersion else {
            throw .schemaTooNew(found: Int(userVersion), supported: Self.schemaVersion)
        }

        try connection.execute("PRAGMA journal_mode = WAL")
        try Self.migrate(connection, from: Int(userVersion))
        let readConnection = try SQLiteConnection(path: path, create: false)
        readConnection.setBusyTimeout(milliseconds: busyTimeoutMilliseconds)
        let dataVersion = try readConnection.dataVersion()
        self.reader = Mutex(Reader(connection: readConnection, lastDataVersion: dataVersion, generation: 0))
        self.writer = Mutex(connection)
        // Validate what is stored now, so a hand-edited value is reported at start, not at a pick.
        _ = try fleetNow()
    }

    // MARK: - FleetSettingsStore

    /// The current fleet list with its version and time.
    public func fleet() async throws(SettingsStoreError) -> FleetSetting {
        try await offload { () throws(SettingsStoreError) in try self.fleetNow() }
    }

    /// The accepted writes of the fleet list, newest first.
    public func history(limit: Int) async throws(SettingsStoreError) -> [SettingsHistoryEntry] {
        try await offload { () throws(SettingsStoreError) in try self.historyNow(limit: limit) }
    }

    /// Replaces the fleet list, raising the version by one (an identical list too).
    public func replaceFleet(
        with list: FleetList, expectedVersion: Int?, actor: SettingsActor
    ) async throws(SettingsStoreError) -> FleetSetting {
        try await offload { () throws(SettingsStoreError) in
            try self.replaceFleetNow(with: list, expectedVersion: expectedVersion, actor: actor)
        }
    }

    /// Appends `entry` to the fleet list unless it is already listed (then nothing changes).
    public func addFleetEntry(_ entry: FleetEntry, actor: SettingsActor) async throws(SettingsStoreError) -> FleetAddResult {
        try await offload { () throws(SettingsStoreError) in try self.addFleetEntryNow(entry, actor: actor) }
    }

    /// Removes `entry` from the fleet list. Returns `nil`, changing nothing, when it is not listed.
    public func removeFleetEntry(_ entry: FleetEntry, actor: SettingsActor) async throws(SettingsStoreError) -> FleetSetting? {
        try await offload { () throws(SettingsStoreError) in try self.removeFleetEntryNow(entry, actor: actor) }
    }

    /// The operators' states of the listed servers, with their own version.
    public func adminStates() async throws(SettingsStoreError) -> FleetAdminStates {
        try await fleet().admin
    }

    /// Sets one listed server's operator state (``FleetSettingsStore/setAdminState(_:actor:)``).
    public func setAdminState(_ change: FleetAdminChange, actor: SettingsActor) async throws(SettingsStoreError) -> FleetAdminRecord {
        try await offload { () throws(SettingsStoreError) in try self.setAdminStateNow(change, actor: actor) }
    }

    /// The changes of the operators' states, newest first.
    public func adminHistory(limit: Int) async throws(SettingsStoreError) -> [FleetAdminHistoryEntry] {
        try await offload { () throws(SettingsStoreError) in
            try self.reader.withLock { reader throws(SettingsStoreError) in
                let rows = try reader.connection.query(
                    "SELECT value, version, actor FROM settings_history WHERE key = ? ORDER BY version DESC LIMIT ?",
                    [.text(FleetAdminStates.key), .integer(Int64(clamping: max(0, limit)))])
                return try rows.map { row throws(SettingsStoreError) in
                    guard case .text(let value) = row[0], case .integer(let version) = row[1], case .text(let actorText) = row[2],
                        let actor = SettingsActor(rawValue: actorText)
                    else { throw .corrupt(reason: "unreadable \(FleetAdminStates.key) history row") }
                    return try FleetAdminHistoryEntry.decode(value, version: Int(version), actor: actor)
                }
            }
        }
    }

    /// Records an ingress sync's view (``FleetSettingsStore/recordIngressView(_:)``).
    public func recordIngressView(_ view: IngressView) async throws(SettingsStoreError) {
        try await offload { () throws(SettingsStoreError) in
            try self.write { connection throws(SettingsStoreError) in
                _ = try connection.query(
                    """
                    INSERT INTO settings (key, value, version, updated_at) VALUES (?, ?, 1, ?)
                    ON CONFLICT (key) DO UPDATE SET value = excluded.value, version = settings.version + 1, updated_at = excluded.updated_at
                    """,
                    [.text(view.key), .text(view.encoded()), .text(view.updatedAt)])
            }
        }
    }

    /// The views every ingress sync recorded, by ingress name.
    public func ingressViews() async throws(SettingsStoreError) -> [IngressView] {
        try await offload { () throws(SettingsStoreError) in
            try self.reader.withLock { reader throws(SettingsStoreError) in
                let rows = try reader.connection.query(
                    "SELECT value FROM settings WHERE key >= ? AND key < ? ORDER BY key",
                    [.text(IngressView.keyPrefix), .text(IngressView.keyPrefix + "\u{10FFFF}")])
                return rows.compactMap { row in
                    guard case .text(let value) = row[0] else { return nil }
                    return IngressView.decode(value)
                }
            }
        }
    }

    /// An inotify-driven feed of this file's changes (``SQLiteChangeFeed``).
    public func makeChangeFeed() async throws(SettingsStoreError) -> any FleetChangeFeed {
        SQLiteChangeFeed(store: self)
    }

    /// Nothing to do: the connections close when the store is released.
    public func close() async {}

    /// Runs blocking SQLite work on a dispatch queue and waits for it without holding a thread.
    private func offload<T: Sendable>(
        _ work: @escaping @Sendable () throws(SettingsStoreError) -> T
    ) async throws(SettingsStoreError) -> T {
        let result: Result<T, SettingsStoreError> = await withCheckedContinuation { continuation in
            DispatchQueue.global(qos: .userInitiated).async {
                do throws(SettingsStoreError) {
                    continuation.resume(returning: .success(try work()))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        return try result.get()
    }

    // MARK: - Reading

    /// The current fleet list, read on the caller's thread (a local read that never waits for a
    /// writer in WAL mode).
    func fleetNow() throws(SettingsStoreError) -> FleetSetting {
        try reader.withLock { reader throws(SettingsStoreError) in
            try Self.readFleet(reader.connection)
        }
    }

    /// A number that changes whenever the stored data may have changed, through this store or any
    /// other connection or process. Compare it with the last value seen; when it differs, read
    /// ``fleet()`` again. Costs one `PRAGMA data_version`.
    public func generation() throws(SettingsStoreError) -> UInt64 {
        try reader.withLock { reader throws(SettingsStoreError) in
            let dataVersion = try reader.connection.dataVersion()
            if dataVersion != reader.lastDataVersion {
                reader.lastDataVersion = dataVersion
                reader.generation &+= 1
            }
            return reader.generation
        }
    }

    /// The accepted writes of the fleet list, newest first, read on the caller's thread.
    func historyNow(limit: Int) throws(SettingsStoreError) -> [SettingsHistoryEntry] {
        try reader.withLock { reader throws(SettingsStoreError) in
            let rows = try reader.connection.query(
                "SELECT key, value, version, changed_at, actor FROM settings_history WHERE key = ? ORDER BY version DESC LIMIT ?",
                [.text(Self.fleetKey), .integer(Int64(clamping: max(0, limit)))]
            )
            return try rows.map { row throws(SettingsStoreError) in
                guard case .text(let key) = row[0], case .text(let value) = row[1], case .integer(let version) = row[2],
                    case .text(let changedAt) = row[3], case .text(let actorText) = row[4],
                    let actor = SettingsActor(rawValue: actorText)
                else { throw .corrupt(reason: "unreadable history row") }
                return SettingsHistoryEntry(
                    key: key, urls: try Self.decodeList(value).urls, version: Int(version), changedAt: changedAt, actor: actor)
            }
        }
    }

    // MARK: - Writing

    @discardableResult
    func replaceFleetNow(
        with list: FleetList, expectedVersion: Int?, actor: SettingsActor
    ) throws(SettingsStoreError) -> FleetSetting {
        try write { connection throws(SettingsStoreError) in
            let current = try Self.readFleet(connection)
            if let expectedVersion, expectedVersion != current.version {
                throw .versionConflict(expected: expectedVersion, current: current.version)
            }
            return try Self.store(list, after: current, actor: actor, in: connection)
        }
    }

    func addFleetEntryNow(_ entry: FleetEntry, actor: SettingsActor) throws(SettingsStoreError) -> FleetAddResult {
        try write { connection throws(SettingsStoreError) in
            let current = try Self.readFleet(connection)
            switch current.addition(of: entry) {
            case .unchanged(let result): return result
            case .store(let list): return .added(try Self.store(list, after: current, actor: actor, in: connection))
            }
        }
    }

    func removeFleetEntryNow(_ entry: FleetEntry, actor: SettingsActor) throws(SettingsStoreError) -> FleetSetting? {
        try write { connection throws(SettingsStoreError) in
            let current = try Self.readFleet(connection)
            guard let list = current.list.removing(entry) else { return nil }
            return try Self.store(list, after: current, actor: actor, in: connection)
        }
    }

    func setAdminStateNow(_ change: FleetAdminChange, actor: SettingsActor) throws(SettingsStoreError) -> FleetAdminRecord {
        try write { connection throws(SettingsStoreError) in
            let current = try Self.readFleet(connection)
            guard current.list.urls.contains(change.url) else { throw .notListed(url: change.url) }
            let (states, record) = current.admin.applying(change, at: Self.timestampNow())
            try Self.storeAdmin(states, change: FleetAdminStates.encodeChange(record), actor: actor, in: connection)
            return record
        }
    }

    /// Runs `body` in one immediate transaction on the writing connection. The reading
    /// connection's `data_version` sees the commit, so ``generation()`` changes with it.
    private func write<T: Sendable>(_ body: (SQLiteConnection) throws(SettingsStoreError) -> T) throws(SettingsStoreError) -> T {
        try writer.withLock { connection throws(SettingsStoreError) in
            try connection.transaction { () throws(SettingsStoreError) in try body(connection) }
        }
    }

    // MARK: - Schema and rows

    private static func migrate(_ connection: SQLiteConnection, from version: Int) throws(SettingsStoreError) {
        guard version < 1 else { return }
        try connection.transaction { () throws(SettingsStoreError) in
            // Another process (`serve` and a `fleet` command started together) may have created
            // the schema since `version` was read; the write lock taken now makes this look final.
            guard try connection.integer("PRAGMA user_version") < 1 else { return }
            try connection.execute("""
                CREATE TABLE settings (
                    key TEXT PRIMARY KEY NOT NULL,
                    value TEXT NOT NULL,
                    version INTEGER NOT NULL,
                    updated_at TEXT NOT NULL
                );
                CREATE TABLE settings_history (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    key TEXT NOT NULL,
                    value TEXT NOT NULL,
                    version INTEGER NOT NULL,
                    changed_at TEXT NOT NULL,
                    actor TEXT NOT NULL CHECK (actor IN ('api', 'cli'))
                );
                CREATE UNIQUE INDEX settings_history_key_version ON settings_history (key, version);
                PRAGMA user_version = 1;
                """)
            _ = try connection.query(
                "INSERT INTO settings (key, value, version, updated_at) VALUES (?, '[]', 0, ?)",
                [.text(fleetKey), .text(timestampNow())]
            )
        }
    }

    private static func readFleet(_ connection: SQLiteConnection) throws(SettingsStoreError) -> FleetSetting {
        let rows = try connection.query(
            "SELECT value, version, updated_at FROM settings WHERE key = ?", [.text(fleetKey)])
        guard let row = rows.first, case .text(let value) = row[0], case .integer(let version) = row[1],
            case .text(let updatedAt) = row[2]
        else { throw .corrupt(reason: "the voxcore_fleet setting is missing or unreadable") }
        return FleetSetting(list: try decodeList(value), version: Int(version), updatedAt: updatedAt, admin: try readAdmin(connection))
    }

    /// The operators' states; none before the first change (no row yet).
    private static func readAdmin(_ connection: SQLiteConnection) throws(SettingsStoreError) -> FleetAdminStates {
        let rows = try connection.query("SELECT value, version FROM settings WHERE key = ?", [.text(FleetAdminStates.key)])
        guard let row = rows.first else { return FleetAdminStates() }
        guard case .text(let value) = row[0], case .integer(let version) = row[1] else {
            throw .corrupt(reason: "the \(FleetAdminStates.key) setting is unreadable")
        }
        return try FleetAdminStates.decode(value, version: Int(version))
    }

    /// Stores the operators' states and one history row (`change`: the record set, or the
    /// servers a list write dropped).
    private static func storeAdmin(
        _ states: FleetAdminStates, change: String, actor: SettingsActor, in connection: SQLiteConnection
    ) throws(SettingsStoreError) {
        let now = timestampNow()
        _ = try connection.query(
            """
            INSERT INTO settings (key, value, version, updated_at) VALUES (?, ?, ?, ?)
            ON CONFLICT (key) DO UPDATE SET value = excluded.value, version = excluded.version, updated_at = excluded.updated_at
            """,
            [.text(FleetAdminStates.key), .text(states.encoded()), .integer(Int64(states.version)), .text(now)])
        _ = try connection.query(
            "INSERT INTO settings_history (key, value, version, changed_at, actor) VALUES (?, ?, ?, ?, ?)",
            [.text(FleetAdminStates.key), .text(change), .integer(Int64(states.version)), .text(now), .text(actor.rawValue)])
    }

    private static func store(
        _ list: FleetList, after current: FleetSetting, actor: SettingsActor, in connection: SQLiteConnection
    ) throws(SettingsStoreError) -> FleetSetting {
        let setting = FleetSetting(list: list, version: current.version + 1, updatedAt: timestampNow())
        let value = encodeList(list)
        _ = try connection.query(
            "UPDATE settings SET value = ?, version = ?, updated_at = ? WHERE key = ?",
            [.text(value), .integer(Int64(setting.version)), .text(setting.updatedAt), .text(fleetKey)])
        _ = try connection.query(
            "INSERT INTO settings_history (key, value, version, changed_at, actor) VALUES (?, ?, ?, ?, ?)",
            [.text(fleetKey), .text(value), .integer(Int64(setting.version)), .text(setting.updatedAt), .text(actor.rawValue)])
        // A server that leaves the list takes its operator state with it.
        var stored = setting
        stored.admin = current.admin
        if let kept = current.admin.keeping(only: list) {
            let dropped = current.admin.records.keys.filter { kept.records[$0] == nil }
            try storeAdmin(kept, change: FleetAdminStates.encodeDropped(dropped, at: setting.updatedAt), actor: actor, in: connection)
            stored.admin = kept
        }
        return stored
    }

    private static func encodeList(_ list: FleetList) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        // Encoding an array of strings cannot fail.
        let data = (try? encoder.encode(list.urls)) ?? Data("[]".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    private static func decodeList(_ text: String) throws(SettingsStoreError) -> FleetList {
        guard let urls = try? JSONDecoder().decode([String].self, from: Data(text.utf8)),
            let list = try? FleetList(validating: urls)
        else { throw .corrupt(reason: "the stored voxcore_fleet value is not a valid fleet list") }
        return list
    }

    private static func timestampNow() -> String {
        Date.now.formatted(.iso8601)
    }
}
