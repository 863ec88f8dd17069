/// A fleet server a `no_capacity` answer passed over, and why (an item of its `servers`).
public struct PassedOverServer: Sendable, Equatable, Decodable {
    /// The server's base URL.
    public var url: String
    /// `up`, `down`, `draining` or `unknown`.
    public var state: String
    /// Why it was passed over, e.g. `excluded`, `full`, `draining`.
    public var reason: String
    /// What an operator set: `active`, `draining` or `maintenance` (`active` from a service
    /// that does not say).
    public var adminState: String

    /// A passed-over server.
    public init(url: String, state: String, reason: String, adminState: String = "active") {
        self.url = url
        self.state = state
        self.reason = reason
        self.adminState = adminState
    }

    private enum CodingKeys: String, CodingKey {
        case url, state, reason
        case adminState = "admin_state"
    }

    /// Reads an item of a `no_capacity` answer's `servers`.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        url = try container.decode(String.self, forKey: .url)
        state = try container.decode(String.self, forKey: .state)
        reason = try container.decode(String.self, forKey: .reason)
        adminState = try container.decodeIfPresent(String.self, forKey: .adminState) ?? "active"
    }
}
