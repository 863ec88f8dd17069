/// One listed server's operator state: what, why, who and since when.
public struct FleetAdminRecord: Sendable, Equatable, Codable {
    /// The list entry.
    public var url: String
    /// Its state.
    public var state: FleetAdminState
    /// Why, as the operator said; `nil` when not given.
    public var reason: String?
    /// Who: the name the operator gave, else the token kind (`admin`) or the user (CLI).
    public var by: String
    /// Since when, ISO 8601 UTC.
    public var since: String

    /// A record as given.
    public init(url: String, state: FleetAdminState, reason: String?, by: String, since: String) {
        self.url = url
        self.state = state
        self.reason = reason
        self.by = by
        self.since = since
    }
}
