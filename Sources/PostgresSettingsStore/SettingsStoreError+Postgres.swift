import PostgresNIO
import SettingsStore

extension SettingsStoreError {
    /// The store error for a failure talking to PostgreSQL at `store`.
    ///
    /// A failure the server did not report itself (refused or lost connection, timeout, TLS) and
    /// the server's own "shutting down", "starting up" and "too many connections" mean the store
    /// cannot be reached now: ``unavailable(store:reason:)``. Authentication and a missing
    /// database cannot be fixed by waiting: ``cannotOpen(path:reason:)``. Anything else the
    /// server refused: ``database(reason:)``.
    static func postgres(_ error: any Error, store: String) -> SettingsStoreError {
        if let error = error as? SettingsStoreError { return error }
        guard let error = error as? PSQLError else {
            if error is CancellationError { return .unavailable(store: store, reason: "the request was cancelled") }
            return .unavailable(store: store, reason: oneLine(String(describing: error)))
        }
        guard let serverInfo = error.serverInfo else {
            let underlying = error.underlying.map { ": " + oneLine(String(describing: $0)) } ?? ""
            return .unavailable(store: store, reason: "\(error.code.description)\(underlying)")
        }
        let state = serverInfo[.sqlState] ?? ""
        let message = oneLine(serverInfo[.message] ?? "error")
        if state.hasPrefix("08") || state.hasPrefix("57P") || state == "53300" {
            return .unavailable(store: store, reason: "\(message) (SQLSTATE \(state))")
        }
        if state.hasPrefix("28") || state == "3D000" {
            return .cannotOpen(path: store, reason: "\(message) (SQLSTATE \(state))")
        }
        return .database(reason: "\(message) (SQLSTATE \(state))")
    }

    private static func oneLine(_ text: String) -> String {
        let line = text.split(whereSeparator: \.isNewline).first.map(String.init) ?? text
        return line.count > 300 ? String(line.prefix(300)) + "…" : line
    }
}
