import Foundation
import NIOCore
import NIOPosix
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
            return .unavailable(store: store, reason: connectionReason(error))
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

    /// "cannot connect to 127.0.0.1:5432: Connection refused" rather than NIO's nested
    /// descriptions; other failures by their postgres-nio code and underlying error.
    private static func connectionReason(_ error: PSQLError) -> String {
        if let failure = error.underlying as? NIOConnectionError {
            let target = "\(failure.host):\(failure.port)"
            if let first = failure.connectionErrors.first {
                if let io = first.error as? IOError {
                    return "cannot connect to \(target): \(String(cString: strerror(io.errnoCode)))"
                }
                return "cannot connect to \(target): \(oneLine(String(describing: first.error)))"
            }
            if let dns = failure.dnsAError ?? failure.dnsAAAAError {
                return "cannot resolve \(failure.host): \(oneLine(String(describing: dns)))"
            }
            return "cannot connect to \(target)"
        }
        if error.underlying is ChannelError, case .connectTimeout? = error.underlying as? ChannelError {
            return "no connection within the connect timeout"
        }
        let underlying = error.underlying.map { ": " + oneLine(String(describing: $0)) } ?? ""
        return "\(error.code.description)\(underlying)"
    }

    private static func oneLine(_ text: String) -> String {
        let line = text.split(whereSeparator: \.isNewline).first.map(String.init) ?? text
        return line.count > 300 ? String(line.prefix(300)) + "…" : line
    }
}
