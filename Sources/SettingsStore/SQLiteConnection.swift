import CSQLite

/// A thin owner of one `sqlite3 *` handle.
///
/// `@unchecked Sendable` is sound because the handle is opened in SQLite's serialized mode
/// (`SQLITE_OPEN_FULLMUTEX`): SQLite itself serialises every call on it. ``SQLiteSettingsStore`` also
/// keeps it inside a `Mutex`, so that a sequence of statements (a transaction) is never
/// interleaved with another thread's.
final class SQLiteConnection: @unchecked Sendable {
    private let handle: OpaquePointer
    /// `PRAGMA data_version`, prepared once: it runs before every pick, where preparing the
    /// statement each time would cost more than running it.
    private var dataVersionStatement: OpaquePointer?

    /// Opens `path`, creating the file when `create` is set.
    init(path: String, create: Bool) throws(SettingsStoreError) {
        var db: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_FULLMUTEX
        let code = sqlite3_open_v2(path, &db, flags, nil)
        guard code == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close_v2(db)
            throw .cannotOpen(path: path, reason: message)
        }
        self.handle = db
        sqlite3_extended_result_codes(db, 1)
    }

    deinit {
        sqlite3_finalize(dataVersionStatement)
        sqlite3_close_v2(handle)
    }

    /// `PRAGMA data_version`: changes when another connection commits.
    func dataVersion() throws(SettingsStoreError) -> Int64 {
        if dataVersionStatement == nil {
            var statement: OpaquePointer?
            let code = sqlite3_prepare_v3(handle, "PRAGMA data_version", -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
            guard code == SQLITE_OK, let statement else { throw error(code: code) }
            dataVersionStatement = statement
        }
        guard let statement = dataVersionStatement else { throw .corrupt(reason: "PRAGMA data_version could not be prepared") }
        defer { sqlite3_reset(statement) }
        let code = sqlite3_step(statement)
        guard code == SQLITE_ROW else { throw error(code: code) }
        return sqlite3_column_int64(statement, 0)
    }

    /// Sets how long a statement waits for another connection's lock before failing with busy.
    func setBusyTimeout(milliseconds: Int32) {
        sqlite3_busy_timeout(handle, milliseconds)
    }

    /// Runs one or more statements that return no rows.
    func execute(_ sql: String) throws(SettingsStoreError) {
        var errorMessage: UnsafeMutablePointer<CChar>?
        let code = sqlite3_exec(handle, sql, nil, nil, &errorMessage)
        let message = errorMessage.map { String(cString: $0) }
        sqlite3_free(errorMessage)
        guard code == SQLITE_OK else { throw error(code: code, message: message) }
    }

    /// Runs `sql` with `bindings` and returns every row, each column as text or integer.
    func query(_ sql: String, _ bindings: [SQLiteValue] = []) throws(SettingsStoreError) -> [[SQLiteValue]] {
        var statement: OpaquePointer?
        let prepareCode = sqlite3_prepare_v2(handle, sql, -1, &statement, nil)
        guard prepareCode == SQLITE_OK, let statement else { throw error(code: prepareCode) }
        defer { sqlite3_finalize(statement) }

        for (offset, binding) in bindings.enumerated() {
            let position = Int32(offset + 1)
            let bindCode: Int32 = switch binding {
            case .integer(let value): sqlite3_bind_int64(statement, position, value)
            case .text(let value): sqlite3_bind_text(statement, position, value, -1, csqlite_transient())
            case .null: sqlite3_bind_null(statement, position)
            }
            guard bindCode == SQLITE_OK else { throw error(code: bindCode) }
        }

        var rows: [[SQLiteValue]] = []
        while true {
            let stepCode = sqlite3_step(statement)
            if stepCode == SQLITE_DONE { break }
            guard stepCode == SQLITE_ROW else { throw error(code: stepCode) }
            let columns = sqlite3_column_count(statement)
            rows.append((0..<columns).map { column in
                switch sqlite3_column_type(statement, column) {
                case SQLITE_INTEGER: .integer(sqlite3_column_int64(statement, column))
                case SQLITE_NULL: .null
                default: .text(sqlite3_column_text(statement, column).map { String(cString: $0) } ?? "")
                }
            })
        }
        return rows
    }

    /// The single integer a pragma or `SELECT` returns.
    func integer(_ sql: String) throws(SettingsStoreError) -> Int64 {
        guard case .integer(let value)? = try query(sql).first?.first else {
            throw .corrupt(reason: "\(sql) returned no integer")
        }
        return value
    }

    /// Runs `body` inside `BEGIN IMMEDIATE … COMMIT`, rolling back when it throws.
    ///
    /// `IMMEDIATE` takes the write lock at the start, so a read-modify-write (the version check
    /// of `If-Match`, a CLI `fleet add`) cannot interleave with another process's write.
    func transaction<T>(_ body: () throws(SettingsStoreError) -> T) throws(SettingsStoreError) -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// Maps an SQLite result code to the store's typed error.
    private func error(code: Int32, message: String? = nil) -> SettingsStoreError {
        let text = message ?? String(cString: sqlite3_errmsg(handle))
        switch code & 0xFF {
        case SQLITE_NOTADB: return .notADatabase(reason: text)
        case SQLITE_CORRUPT: return .corrupt(reason: text)
        case SQLITE_READONLY: return .readOnly(reason: text)
        case SQLITE_FULL: return .diskFull(reason: text)
        case SQLITE_BUSY, SQLITE_LOCKED: return .busy(reason: text)
        case SQLITE_CANTOPEN, SQLITE_PERM, SQLITE_AUTH: return .cannotOpen(path: sqlite3_db_filename(handle, "main").map { String(cString: $0) } ?? "", reason: text)
        default: return .sqlite(code: Int(code), reason: text)
        }
    }
}

/// A value bound to or read from an SQLite statement.
enum SQLiteValue: Equatable {
    case integer(Int64)
    case text(String)
    case null
}
