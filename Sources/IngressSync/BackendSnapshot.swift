/// The backend's servers at one moment, read from the Runtime API's answers.
public struct BackendSnapshot: Sendable, Equatable {
    /// The servers by name.
    public var servers: [String: BackendServer]

    /// A snapshot as given.
    public init(servers: [String: BackendServer]) {
        self.servers = servers
    }

    /// The snapshot from `show servers state BACKEND` (format 1) and `show stat BACKEND 4 -1`
    /// (CSV; for sessions and status words).
    /// - Throws: ``IngressError/unexpectedAnswer(command:answer:)`` when either is not in the
    ///   format this build reads.
    public static func parse(serversState: String, stat: String) throws(IngressError) -> BackendSnapshot {
        var lines = serversState.split(separator: "\n", omittingEmptySubsequences: true)
        guard let version = lines.first, version.trimmingCharacters(in: .whitespaces) == "1" else {
            throw .unexpectedAnswer(command: "show servers state", answer: serversState)
        }
        lines.removeFirst()
        var servers: [String: BackendServer] = [:]
        for line in lines where !line.hasPrefix("#") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 19, let op = Int(fields[5]), let admin = Int(fields[6]), let result = Int(fields[11]) else {
                throw .unexpectedAnswer(command: "show servers state", answer: String(line))
            }
            let name = String(fields[3])
            servers[name] = BackendServer(name: name, address: String(fields[4]), port: Int(fields[18]) ?? 0,
                                          operationalState: op, adminFlags: admin, checkResult: result)
        }
        let statLines = stat.split(separator: "\n", omittingEmptySubsequences: true)
        guard let header = statLines.first, header.hasPrefix("# ") else {
            if servers.isEmpty, stat.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { return BackendSnapshot(servers: servers) }
            throw .unexpectedAnswer(command: "show stat", answer: stat)
        }
        let columns = header.dropFirst(2).split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard let nameColumn = columns.firstIndex(of: "svname"), let sessionsColumn = columns.firstIndex(of: "scur"),
            let statusColumn = columns.firstIndex(of: "status")
        else { throw .unexpectedAnswer(command: "show stat", answer: String(header)) }
        let checkColumn = columns.firstIndex(of: "check_status")
        for line in statLines.dropFirst() {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count > max(nameColumn, sessionsColumn, statusColumn) else { continue }
            let name = String(fields[nameColumn])
            guard var server = servers[name] else { continue }
            server.sessions = Int(fields[sessionsColumn]) ?? 0
            server.status = String(fields[statusColumn])
            if let checkColumn, checkColumn < fields.count { server.checkStatus = String(fields[checkColumn]) }
            servers[name] = server
        }
        return BackendSnapshot(servers: servers)
    }
}

import Foundation
