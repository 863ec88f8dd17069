/// One Runtime API command the sync sends for one server.
public enum RuntimeCommand: Sendable, Equatable {
    /// `add server` (the server starts in maintenance).
    case add(ManagedServer)
    /// `set server … addr … port …`.
    case setAddress(server: String, address: String, port: Int)
    /// `set server … state ready|drain|maint`.
    case setState(server: String, IngressServerState)
    /// `enable health`: start the checks of an added server.
    case enableHealth(server: String)
    /// `shutdown sessions server`: cut what is left after the remove timeout.
    case shutdownSessions(server: String)
    /// `del server` (the server must be in maintenance with no connections).
    case delete(server: String)

    /// The server the command is about.
    public var server: String {
        switch self {
        case .add(let managed): managed.name
        case .setAddress(let server, _, _), .setState(let server, _), .enableHealth(let server),
             .shutdownSessions(let server), .delete(let server): server
        }
    }

    /// The command's text for `backend`.
    public func text(backend: String) -> String {
        switch self {
        case .add(let managed):
            "add server \(backend)/\(managed.name) \(managed.endpoint) \(managed.options)"
        case .setAddress(let server, let address, let port):
            "set server \(backend)/\(server) addr \(address) port \(port)"
        case .setState(let server, let state):
            "set server \(backend)/\(server) state \(state)"
        case .enableHealth(let server):
            "enable health \(backend)/\(server)"
        case .shutdownSessions(let server):
            "shutdown sessions server \(backend)/\(server)"
        case .delete(let server):
            "del server \(backend)/\(server)"
        }
    }
}
