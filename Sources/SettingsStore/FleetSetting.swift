/// The stored `voxcore_fleet` setting as the API shows it.
public struct FleetSetting: Sendable, Equatable {
    /// The list.
    public var list: FleetList
    /// Raised by one on every accepted write; 0 in a new database.
    public var version: Int
    /// When the last write was accepted (or the database created), ISO 8601 UTC to the second.
    public var updatedAt: String
    /// The operators' states of the listed servers, with their own version.
    public var admin: FleetAdminStates

    /// Creates a setting value.
    public init(list: FleetList, version: Int, updatedAt: String, admin: FleetAdminStates = FleetAdminStates()) {
        self.list = list
        self.version = version
        self.updatedAt = updatedAt
        self.admin = admin
    }

    /// Whether this setting is as new as `other` in both versions and newer in one (both only grow).
    public func isNewer(than other: FleetSetting) -> Bool {
        version >= other.version && admin.version >= other.admin.version
            && (version > other.version || admin.version > other.admin.version)
    }
}

/// Who made a settings write, kept in the history.
public enum SettingsActor: String, Sendable {
    /// The HTTP API (the VoxUI settings page).
    case api
    /// The `voxbridge-dispatch fleet` command.
    case cli
}

/// One accepted write, as the history table keeps it.
public struct SettingsHistoryEntry: Sendable, Equatable {
    /// The setting's key, `voxcore_fleet`.
    public var key: String
    /// The list that was written.
    public var urls: [String]
    /// The version the write produced.
    public var version: Int
    /// When it was accepted, ISO 8601 UTC.
    public var changedAt: String
    /// Who wrote it.
    public var actor: SettingsActor

    /// Creates a history entry.
    public init(key: String, urls: [String], version: Int, changedAt: String, actor: SettingsActor) {
        self.key = key
        self.urls = urls
        self.version = version
        self.changedAt = changedAt
        self.actor = actor
    }
}

/// What ``FleetSettingsStore/addFleetEntry(_:actor:)`` did.
public enum FleetAddResult: Sendable, Equatable {
    /// The entry was appended; the new setting.
    case added(FleetSetting)
    /// The entry was already listed; nothing changed.
    case alreadyListed(FleetSetting)
    /// The list already holds ``FleetList/maximumCount`` entries; nothing changed.
    case listFull(FleetSetting)
}

/// What adding an entry to a stored list comes to, decided the same way by every store
/// (``FleetSetting/addition(of:)``); only the storing is the store's own.
public enum FleetAddition: Sendable, Equatable {
    /// Store this list (the entry appended).
    case store(FleetList)
    /// Nothing to store: the answer as it is (already listed, or the list full).
    case unchanged(FleetAddResult)
}

extension FleetSetting {
    /// Adding `entry` to this setting: the list to store, or the answer when nothing changes.
    /// No error: a full list is an answer (`listFull`), and storage errors belong to the store.
    public func addition(of entry: FleetEntry) -> FleetAddition {
        do {
            guard let list = try self.list.adding(entry) else { return .unchanged(.alreadyListed(self)) }
            return .store(list)
        } catch {
            return .unchanged(.listFull(self))
        }
    }
}
