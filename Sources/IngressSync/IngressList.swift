/// The fleet list as the sync follows it: the entries and their operator states.
public struct IngressList: Sendable, Equatable {
    /// The normalised entries, in list order.
    public var urls: [String]
    /// The operator state of each entry that is not `active` (`draining`, `maintenance`).
    public var operatorStates: [String: String]
    /// The list's version, for logs.
    public var version: Int

    /// A list as given.
    public init(urls: [String], operatorStates: [String: String] = [:], version: Int = 0) {
        self.urls = urls
        self.operatorStates = operatorStates
        self.version = version
    }

    /// One HAProxy server per host and port.
    public var specs: [IngressServerSpec] {
        IngressServerSpec.specs(list: urls, operatorStates: operatorStates)
    }
}

/// Where the sync reads the list: the settings store's change feed, or the dispatchers' event stream.
public protocol IngressListSource: Sendable {
    /// The list last known; `nil` until one is known.
    func current() -> IngressList?
    /// Keeps ``current()`` up to date until the task is cancelled.
    func run() async
}
