/// One `server` line the sync owns in the servers file: what HAProxy starts with after a reload
/// or a restart, also while the sync is down.
public struct ManagedServer: Sendable, Equatable {
    /// The server's name.
    public var name: String
    /// The list entry it serves (the first, when several share the host and port).
    public var url: String
    /// The address and port.
    public var address: String
    /// The port.
    public var port: Int
    /// The keywords.
    public var options: String
    /// Whether it starts in service; `false` writes `disabled` (maintenance until the sync or
    /// an operator enables it): a server is written in service only once it passed a check and
    /// is listed active.
    public var inService: Bool

    /// A line as given.
    public init(name: String, url: String, address: String, port: Int, options: String, inService: Bool) {
        self.name = name
        self.url = url
        self.address = address
        self.port = port
        self.options = options
        self.inService = inService
    }

    /// `ADDRESS:PORT`, bracketing an IPv6 address.
    public var endpoint: String {
        address.contains(":") ? "[\(address)]:\(port)" : "\(address):\(port)"
    }
}
