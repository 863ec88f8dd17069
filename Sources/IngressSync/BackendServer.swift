/// One server of the backend as HAProxy reports it (`show servers state` and `show stat`).
public struct BackendServer: Sendable, Equatable {
    /// The server's name.
    public var name: String
    /// The address HAProxy connects to.
    public var address: String
    /// The port.
    public var port: Int
    /// `srv_op_state`: 0 stopped, 1 starting, 2 running, 3 stopping.
    public var operationalState: Int
    /// `srv_admin_state`: the mask of maintenance and drain flags.
    public var adminFlags: Int
    /// `srv_check_result`: 0 unknown, 1 neutral, 2 failed, 3 passed, 4 passed on condition.
    public var checkResult: Int
    /// Current sessions (`scur`).
    public var sessions: Int
    /// The status word of `show stat`: `UP`, `DOWN`, `MAINT`, `DRAIN`, `NOLB`, `no check`, …
    public var status: String
    /// The last check's status (`check_status`, e.g. `L4CON`, `L7OK`).
    public var checkStatus: String

    /// A server as given.
    public init(name: String, address: String, port: Int, operationalState: Int, adminFlags: Int, checkResult: Int,
                sessions: Int = 0, status: String = "", checkStatus: String = "") {
        self.name = name
        self.address = address
        self.port = port
        self.operationalState = operationalState
        self.adminFlags = adminFlags
        self.checkResult = checkResult
        self.sessions = sessions
        self.status = status
        self.checkStatus = checkStatus
    }

    /// In maintenance: forced, inherited, or for want of an address. (A server written `disabled`
    /// keeps the configuration's flag, 0x04, after it is enabled: only with 0x01 does it count.)
    public var inMaintenance: Bool { adminFlags & 0x23 != 0 }
    /// Draining, forced or inherited.
    public var draining: Bool { adminFlags & 0x18 != 0 }
    /// Up as far as the checks go (running or warming up).
    public var running: Bool { operationalState == 1 || operationalState == 2 }
    /// A check has passed since the checks were last enabled.
    public var checkPassed: Bool { checkResult == 3 || checkResult == 4 }
    /// Whether HAProxy sends it new connections now.
    public var up: Bool { running && !inMaintenance && !draining }

    /// One word for the server's state: `UP`, `DOWN`, `DRAIN` or `MAINT`.
    public var state: String {
        if inMaintenance { return "MAINT" }
        if draining { return "DRAIN" }
        return running ? "UP" : "DOWN"
    }
}
