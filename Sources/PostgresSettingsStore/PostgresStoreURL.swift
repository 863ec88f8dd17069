import Foundation
import NIOSSL
import PostgresNIO
import SettingsStore

/// A `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=…]` store URL, parsed and checked.
///
/// The password comes from the URL or, when the URL has none, from `PGPASSWORD`; it is never part
/// of ``description``, which is what messages and logs show. `sslmode` is `disable` (the default:
/// the usual loopback or private-network install), `require` (TLS, the server's certificate not
/// checked, as libpq does) or `verify-full` (TLS, certificate and host name checked against the
/// system's CAs).
public struct PostgresStoreURL: Sendable, Equatable, CustomStringConvertible {
    /// How the connection is encrypted.
    public enum TLSMode: String, Sendable, Equatable {
        /// No TLS.
        case disable
        /// TLS without checking the server's certificate.
        case require
        /// TLS with the certificate and host name checked.
        case verifyFull = "verify-full"
    }

    /// The user to connect as.
    public var user: String
    /// The password, from the URL or `PGPASSWORD`; never shown.
    public var password: String?
    /// The server's host name or address.
    public var host: String
    /// The server's port.
    public var port: Int
    /// The database that holds the list.
    public var database: String
    /// The TLS mode (`sslmode`).
    public var tls: TLSMode

    /// Parses `text`; a missing password is taken from `environment["PGPASSWORD"]`.
    /// - Throws: a one-line reason when the URL cannot be used (it never repeats the password).
    public init(_ text: String, environment: [String: String] = [:]) throws(PostgresStoreURLError) {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
            scheme == "postgres" || scheme == "postgresql"
        else { throw PostgresStoreURLError("the store URL must look like postgres://USER@HOST:PORT/DATABASE") }
        guard let user = components.user.flatMap({ $0.removingPercentEncoding }), !user.isEmpty else {
            throw PostgresStoreURLError("the store URL names no user (postgres://USER@HOST:PORT/DATABASE)")
        }
        guard let host = components.host, !host.isEmpty else {
            throw PostgresStoreURLError("the store URL names no host (postgres://USER@HOST:PORT/DATABASE)")
        }
        let database = String(components.path.drop { $0 == "/" }).removingPercentEncoding ?? ""
        guard !database.isEmpty, !database.contains("/") else {
            throw PostgresStoreURLError("the store URL names no database (postgres://USER@HOST:PORT/DATABASE)")
        }
        if let port = components.port, !(1...65_535).contains(port) {
            throw PostgresStoreURLError("the store URL's port \(port) is not from 1 to 65535")
        }
        guard components.fragment == nil else { throw PostgresStoreURLError("the store URL must not have a fragment") }
        var tls = TLSMode.disable
        for item in components.queryItems ?? [] {
            guard item.name == "sslmode" else {
                throw PostgresStoreURLError("the store URL's parameter \"\(item.name)\" is not supported (only sslmode)")
            }
            guard let mode = item.value.flatMap(TLSMode.init(rawValue:)) else {
                throw PostgresStoreURLError("sslmode \"\(item.value ?? "")\" is not supported; use disable, require or verify-full")
            }
            tls = mode
        }
        self.user = user
        self.password = components.password.flatMap { $0.removingPercentEncoding } ?? environment["PGPASSWORD"].flatMap { $0.isEmpty ? nil : $0 }
        self.host = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        self.port = components.port ?? 5432
        self.database = database
        self.tls = tls
    }

    /// `postgres://USER@HOST:PORT/DATABASE` (with `?sslmode=` when not `disable`), without the password.
    public var description: String {
        let shownHost = host.contains(":") ? "[\(host)]" : host
        return "postgres://\(user)@\(shownHost):\(port)/\(database)" + (tls == .disable ? "" : "?sslmode=\(tls.rawValue)")
    }

    /// The connection settings postgres-nio takes for this URL (TLS as `sslmode` says).
    public func connectionConfiguration(connectTimeout: Duration) throws(PostgresStoreURLError) -> PostgresConnection.Configuration {
        let tlsSetting: PostgresConnection.Configuration.TLS
        switch tls {
        case .disable:
            tlsSetting = .disable
        case .require, .verifyFull:
            var settings = TLSConfiguration.makeClientConfiguration()
            if tls == .require { settings.certificateVerification = .none }
            do {
                tlsSetting = .require(try NIOSSLContext(configuration: settings))
            } catch {
                throw PostgresStoreURLError("cannot set up TLS for the store: \(error)")
            }
        }
        var configuration = PostgresConnection.Configuration(
            host: host, port: port, username: user, password: password, database: database, tls: tlsSetting)
        let (seconds, attoseconds) = connectTimeout.components
        configuration.options.connectTimeout = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        return configuration
    }
}

/// A store URL that cannot be used, with the reason in one line.
public struct PostgresStoreURLError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The reason.
    public var description: String

    init(_ description: String) {
        self.description = description
    }
}
