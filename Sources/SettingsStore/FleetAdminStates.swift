import Foundation

/// Every listed server's operator state that is not `active`, with a version of its own: a
/// state change raises this version, never the fleet list's, so the list's ETag does not move.
///
/// Stored beside the list as a second setting (``key``) with its own history; decided here, so
/// every store changes it the same way.
public struct FleetAdminStates: Sendable, Equatable {
    /// The setting's key beside `voxcore_fleet`.
    public static let key = "voxcore_fleet_admin"

    /// Stored values: keys sorted, slashes unescaped.
    private static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// Raised by one on every change; 0 before the first.
    public var version: Int
    /// The servers not `active`, by URL.
    public var records: [String: FleetAdminRecord]

    /// States as given.
    public init(version: Int = 0, records: [String: FleetAdminRecord] = [:]) {
        self.version = version
        self.records = records
    }

    /// The states after `change` at `now`, and the record it makes; the version raised by one.
    public func applying(_ change: FleetAdminChange, at now: String) -> (states: FleetAdminStates, record: FleetAdminRecord) {
        let record = FleetAdminRecord(url: change.url, state: change.state, reason: change.reason, by: change.by, since: now)
        var next = self
        next.version += 1
        next.records[change.url] = change.state == .active ? nil : record
        return (next, record)
    }

    /// The states without the servers `list` no longer holds, the version raised; `nil` when
    /// every state's server is still listed (nothing to store).
    public func keeping(only list: FleetList) -> FleetAdminStates? {
        let listed = Set(list.urls)
        guard records.keys.contains(where: { !listed.contains($0) }) else { return nil }
        var next = self
        next.version += 1
        next.records = records.filter { listed.contains($0.key) }
        return next
    }

    /// The stored value: the records as a JSON array, sorted by URL.
    public func encoded() -> String {
        let sorted = records.values.sorted { $0.url < $1.url }
        return String(decoding: (try? Self.encoder.encode(sorted)) ?? Data("[]".utf8), as: UTF8.self)
    }

    /// States read back from a stored value and version.
    /// - Throws: ``SettingsStoreError/corrupt(reason:)`` for a value this program did not write.
    public static func decode(_ value: String, version: Int) throws(SettingsStoreError) -> FleetAdminStates {
        guard let records = try? JSONDecoder().decode([FleetAdminRecord].self, from: Data(value.utf8)) else {
            throw .corrupt(reason: "the stored \(key) value is not a list of operator states")
        }
        return FleetAdminStates(version: version, records: Dictionary(records.map { ($0.url, $0) }, uniquingKeysWith: { $1 }))
    }

    /// One history row's value: the change itself.
    public static func encodeChange(_ record: FleetAdminRecord) -> String {
        String(decoding: (try? Self.encoder.encode(record)) ?? Data("{}".utf8), as: UTF8.self)
    }

    /// The history row of the servers a list change dropped: each back to `active` by `list`.
    public static func encodeDropped(_ urls: [String], at now: String) -> String {
        let records = urls.sorted().map { FleetAdminRecord(url: $0, state: .active, reason: "removed from the list", by: "list", since: now) }
        return String(decoding: (try? Self.encoder.encode(records)) ?? Data("[]".utf8), as: UTF8.self)
    }
}

/// One change of the operator states, as the history keeps it.
public struct FleetAdminHistoryEntry: Sendable, Equatable {
    /// The states' version the change produced.
    public var version: Int
    /// What was set (for a list change that dropped servers, one entry each, back to `active`).
    public var records: [FleetAdminRecord]
    /// Through what: the API or the CLI.
    public var actor: SettingsActor

    /// An entry as given.
    public init(version: Int, records: [FleetAdminRecord], actor: SettingsActor) {
        self.version = version
        self.records = records
        self.actor = actor
    }

    /// An entry read back from a history row's value.
    public static func decode(_ value: String, version: Int, actor: SettingsActor) throws(SettingsStoreError) -> FleetAdminHistoryEntry {
        let data = Data(value.utf8)
        if let one = try? JSONDecoder().decode(FleetAdminRecord.self, from: data) {
            return FleetAdminHistoryEntry(version: version, records: [one], actor: actor)
        }
        guard let many = try? JSONDecoder().decode([FleetAdminRecord].self, from: data) else {
            throw .corrupt(reason: "unreadable \(FleetAdminStates.key) history row")
        }
        return FleetAdminHistoryEntry(version: version, records: many, actor: actor)
    }
}
