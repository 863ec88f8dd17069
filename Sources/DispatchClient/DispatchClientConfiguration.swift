/// How a ``DispatchClient`` reaches the dispatcher and how patiently it places a dialout.
///
/// Every field has a default, so `DispatchClientConfiguration()` talks to a dispatcher on
/// `http://127.0.0.1:8080` with no token.
public struct DispatchClientConfiguration: Sendable {
    /// Base URLs of the dispatcher instances, e.g. `["http://10.0.0.5:8080", "http://10.0.0.6:8080"]`.
    ///
    /// Requests go to the instance that answered last; when it does not answer (refused
    /// connection, timeout, a 5xx that is not the service's own `no_capacity` or `fleet_empty`),
    /// the next one in the list is tried, each at most once per request.
    public var instances: [String]
    /// The pick token (`VOXBRIDGE_PICK_TOKEN`, or the admin token), sent as
    /// `Authorization: Bearer <token>`; `nil` sends no `Authorization` header.
    public var token: String?
    /// Bound on one request to one instance, connecting included. A pick that runs out of it
    /// goes to the next instance.
    public var requestTimeout: Duration
    /// Bound on opening a connection to one instance.
    public var connectTimeout: Duration
    /// How many servers ``DispatchClient/dial(excluding:onPick:_:)`` tries at most: the first
    /// pick and the retries after a `busy` or `failed` placement (3: the first try and two retries).
    public var maxAttempts: Int
    /// Kept-alive HTTP/1.1 connections per instance; raise it for thousands of dialouts a second.
    public var maxConnectionsPerInstance: Int

    /// A configuration; every parameter has the default its field documents.
    /// - Parameters:
    ///   - instances: dispatcher base URLs, tried in order when one does not answer.
    ///   - token: the pick token, or `nil`.
    ///   - requestTimeout: bound on one request to one instance (default 2 s).
    ///   - connectTimeout: bound on opening one connection (default 500 ms).
    ///   - maxAttempts: servers one dial tries at most (default 3).
    ///   - maxConnectionsPerInstance: kept-alive connections per instance (default 64).
    public init(
        instances: [String] = ["http://127.0.0.1:8080"],
        token: String? = nil,
        requestTimeout: Duration = .seconds(2),
        connectTimeout: Duration = .milliseconds(500),
        maxAttempts: Int = 3,
        maxConnectionsPerInstance: Int = 64
    ) {
        self.instances = instances
        self.token = token
        self.requestTimeout = requestTimeout
        self.connectTimeout = connectTimeout
        self.maxAttempts = maxAttempts
        self.maxConnectionsPerInstance = maxConnectionsPerInstance
    }
}
