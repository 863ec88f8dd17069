import Foundation

/// The file HAProxy loads beside its main configuration, holding the managed backend: the
/// operator's own lines (balance, `option httpchk`, timeouts, servers of their own) kept as
/// written, and the sync's `server` lines, each marked with ``marker`` and the list entry.
///
/// A `server` line added at run time lives only in the running process, and HAProxy refuses a
/// backend declared in two files, so the backend is declared here, last: what HAProxy starts
/// with after a reload or a restart is this file, also while the sync is down.
public struct ServersFile: Sendable, Equatable {
    /// The comment that marks a line the sync owns.
    public static let marker = "# voxbridge-dispatch:"

    /// The operator's lines, in order.
    public var preamble: [String]
    /// The sync's servers, as read.
    public var managed: [ManagedServer]

    /// A file as given.
    public init(preamble: [String], managed: [ManagedServer]) {
        self.preamble = preamble
        self.managed = managed
    }

    /// Reads `text`, checking that it declares `backend` as its last section.
    /// - Throws: ``IngressError/serversFile(path:reason:)``.
    public static func parse(_ text: String, backend: String, path: String) throws(IngressError) -> ServersFile {
        var preamble: [String] = []
        var managed: [ManagedServer] = []
        var lastSection: String?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if let first = words.first, ["global", "defaults", "frontend", "backend", "listen", "resolvers", "peers", "userlist", "program", "http-errors", "ring", "mailers", "cache"].contains(String(first)), !line.hasPrefix(" "), !line.hasPrefix("\t") {
                lastSection = words.count > 1 ? "\(first) \(words[1])" : String(first)
            }
            if let server = Self.managedLine(line) {
                managed.append(server)
            } else {
                preamble.append(line)
            }
        }
        while preamble.last?.isEmpty == true { preamble.removeLast() }
        guard lastSection == "backend \(backend)" else {
            throw .serversFile(path: path, reason: "its last section must be `backend \(backend)` (found \(lastSection.map { "`\($0)`" } ?? "none"))")
        }
        return ServersFile(preamble: preamble, managed: managed)
    }

    /// The file's text: the operator's lines, then the managed servers by name.
    public func render() -> String {
        var lines = preamble
        for server in managed.sorted(by: { $0.name < $1.name }) {
            let state = server.inService ? "" : " disabled"
            lines.append("    server \(server.name) \(server.endpoint) \(server.options)\(state) \(Self.marker) \(server.url)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A managed line read back; `nil` for any other line.
    static func managedLine(_ line: String) -> ManagedServer? {
        guard let markerRange = line.range(of: " " + marker + " ") else { return nil }
        let url = line[markerRange.upperBound...].trimmingCharacters(in: .whitespaces)
        var words = line[..<markerRange.lowerBound].split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard words.count >= 3, words[0] == "server" else { return nil }
        let inService = words.last != "disabled"
        if !inService { words.removeLast() }
        let endpoint = words[2]
        guard let colon = endpoint.lastIndex(of: ":"), let port = Int(endpoint[endpoint.index(after: colon)...]) else { return nil }
        var address = String(endpoint[..<colon])
        if address.hasPrefix("[") && address.hasSuffix("]") { address = String(address.dropFirst().dropLast()) }
        return ManagedServer(name: words[1], url: url, address: address, port: port,
                             options: words.dropFirst(3).joined(separator: " "), inService: inService)
    }

    /// Reads the file at `path`.
    public static func load(path: String, backend: String) throws(IngressError) -> ServersFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            let reason = FileManager.default.fileExists(atPath: path) ? "cannot be read" : "does not exist; create it with the backend section (see docs/OPERATIONS.md) and add it to HAProxy's configuration"
            throw .serversFile(path: path, reason: reason)
        }
        return try parse(String(decoding: data, as: UTF8.self), backend: backend, path: path)
    }

    /// Writes the file at `path` atomically (a temporary file beside it, checked with `haproxy -c`
    /// together with `configs`, then renamed over it). Returns the check's refusals by server
    /// name when it fails over managed lines; the file is then left as it was.
    /// - Throws: ``IngressError/configRejected(_:)`` when the check fails for a line the sync
    ///   does not own, ``IngressError/serversFile(path:reason:)`` when the file cannot be written.
    public func write(path: String, configs: [String], haproxy: String) throws(IngressError) -> [String: String] {
        let text = render()
        let folder = (path as NSString).deletingLastPathComponent
        let temporary = (folder.isEmpty ? "." : folder) + "/.\((path as NSString).lastPathComponent).\(getpid()).tmp"
        let data = Data(text.utf8)
        guard FileManager.default.createFile(atPath: temporary, contents: data, attributes: [.posixPermissions: 0o644]) else {
            throw .serversFile(path: path, reason: "cannot write \(temporary)")
        }
        let (status, output) = Self.check(configs: configs + [temporary], haproxy: haproxy)
        guard status == 0 else {
            unlink(temporary)
            let refusals = refusals(in: output, file: temporary)
            if refusals.isEmpty { throw .configRejected(IngressError.oneLine(output)) }
            return refusals
        }
        let descriptor = open(temporary, O_RDONLY)
        if descriptor >= 0 { fsync(descriptor); close(descriptor) }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw .serversFile(path: path, reason: "cannot replace it: \(reason)")
        }
        return [:]
    }

    /// Servers whose lines `haproxy -c` complained about, with its words.
    func refusals(in output: String, file: String) -> [String: String] {
        let lines = render().split(separator: "\n", omittingEmptySubsequences: false)
        var found: [String: String] = [:]
        for message in output.split(separator: "\n") {
            guard let range = message.range(of: "[\(file):") else { continue }
            let number = message[range.upperBound...].prefix { $0.isNumber }
            guard let index = Int(number), index >= 1, index <= lines.count,
                let server = Self.managedLine(String(lines[index - 1])) else { continue }
            let reason = message[range.upperBound...].drop { $0 != ":" }.dropFirst().trimmingCharacters(in: .whitespaces)
            found[server.name] = reason
        }
        return found
    }

    /// Runs `haproxy -c -q` on `configs`; returns its exit status and output.
    static func check(configs: [String], haproxy: String) -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [haproxy, "-c"] + configs.flatMap { ["-f", $0] }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            return (127, "cannot run \(haproxy): \(error)")
        }
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }
}
