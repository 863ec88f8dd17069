/// What can go wrong with the settings store (SQLite or PostgreSQL). Each case's ``description`` is one line for a
/// person: the CLI prints it and exits non-zero, `serve` refuses to start with it.
public enum SettingsStoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file cannot be opened or created (missing folder, permissions).
    case cannotOpen(path: String, reason: String)
    /// The file exists but is not an SQLite database.
    case notADatabase(reason: String)
    /// The database is damaged, or holds values this program did not write.
    case corrupt(reason: String)
    /// The database was written by a newer build whose schema this one does not know.
    case schemaTooNew(found: Int, supported: Int)
    /// The file or its folder is read-only, so a write cannot be kept.
    case readOnly(reason: String)
    /// The disk is full, so a write cannot be kept.
    case diskFull(reason: String)
    /// Another process held the database for longer than the busy timeout.
    case busy(reason: String)
    /// `If-Match` named a version that is not the current one.
    case versionConflict(expected: Int, current: Int)
    /// Any other SQLite failure, with its result code.
    case sqlite(code: Int, reason: String)
    /// The settings store (a database server) cannot be reached now; nothing was changed.
    case unavailable(store: String, reason: String)
    /// The database server refused a statement for a reason other than being unreachable.
    case database(reason: String)
    /// A copy was refused because the target store already holds a list or history.
    case notEmpty(store: String, version: Int)
    /// An operator's state for a URL the fleet list does not hold; nothing was changed.
    case notListed(url: String)

    /// One line for a person.
    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason): "cannot open the settings database \(path): \(reason)"
        case .notADatabase(let reason): "the settings database file is not an SQLite database (\(reason))"
        case .corrupt(let reason): "the settings database is corrupt (\(reason))"
        case .schemaTooNew(let found, let supported):
            "the settings database has schema version \(found), newer than this build supports (\(supported)); use a newer voxbridge-dispatch"
        case .readOnly(let reason): "the settings database is read-only, nothing was changed (\(reason))"
        case .diskFull(let reason): "the disk is full, nothing was changed (\(reason))"
        case .busy(let reason): "the settings database is busy (another writer held it too long), nothing was changed (\(reason))"
        case .versionConflict(let expected, let current):
            "the settings were changed meanwhile: If-Match names version \(expected), the current version is \(current)"
        case .sqlite(let code, let reason): "settings database error \(code): \(reason)"
        case .unavailable(let store, let reason): "the settings store \(store) cannot be reached, nothing was changed (\(reason))"
        case .database(let reason): "settings database error: \(reason)"
        case .notEmpty(let store, let version):
            "\(store) already holds a fleet list (version \(version)) or history; nothing was changed (--force replaces it)"
        case .notListed(let url): "\(url) is not in the voxcore_fleet list; nothing was changed"
        }
    }
}
