/// Why the sync cannot work with this HAProxy, or one command failed: one line each.
public enum IngressError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The admin socket cannot be reached.
    case socketUnreachable(path: String, reason: String)
    /// Something answers on the socket, but not HAProxy's Runtime API.
    case notHAProxy(path: String)
    /// The socket's level is below `admin`: servers cannot be added or changed.
    case notAdmin(path: String, level: String)
    /// The running HAProxy has no such backend.
    case unknownBackend(String)
    /// The servers file is missing, unreadable, or does not declare the backend last.
    case serversFile(path: String, reason: String)
    /// `haproxy -c` refused the configuration with the servers file.
    case configRejected(String)
    /// HAProxy answered a command with an error.
    case refused(command: String, answer: String)
    /// An answer this build cannot read.
    case unexpectedAnswer(command: String, answer: String)

    /// The line for logs and the command line.
    public var description: String {
        switch self {
        case .socketUnreachable(let path, let reason):
            "cannot reach HAProxy's admin socket \(path): \(reason)"
        case .notHAProxy(let path):
            "\(path) does not answer as HAProxy's Runtime API (show info names no HAProxy)"
        case .notAdmin(let path, let level):
            "\(path) is at level \(level); the sync needs `stats socket \(path) level admin`"
        case .unknownBackend(let name):
            "HAProxy has no backend \(name) (is the servers file among its configuration files?)"
        case .serversFile(let path, let reason):
            "servers file \(path): \(reason)"
        case .configRejected(let text):
            "haproxy -c refused the configuration: \(text)"
        case .refused(let command, let answer):
            "HAProxy refused `\(command)`: \(Self.oneLine(answer))"
        case .unexpectedAnswer(let command, let answer):
            "unexpected answer to `\(command)`: \(Self.oneLine(answer).prefix(200))"
        }
    }

    static func oneLine(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.joined(separator: "; ")
    }
}

import Foundation
