/// Decides, from the list and what HAProxy reports, which Runtime API commands bring the backend
/// in step and which `server` lines the servers file holds. No I/O: the sync reads HAProxy, asks
/// for a plan, carries it out and reports each command's outcome back.
///
/// Instants are durations since the sync's start (any origin will do), so tests drive it with
/// plain numbers.
public struct IngressPlanner: Sendable {
    /// The timeouts and keywords.
    public var configuration: IngressConfiguration
    /// Servers added or re-enabled, draining with checks on until one passes, since when.
    public private(set) var pending: [String: Duration] = [:]
    /// Servers that did not pass a check within the up timeout: in maintenance until they answer.
    public private(set) var parked: Set<String> = []
    /// Managed servers no longer listed, draining since when.
    public private(set) var leaving: [String: Duration] = [:]
    /// Servers that could not be added (no address, HAProxy refused), with why and since when.
    public private(set) var refused: [String: Refusal] = [:]
    /// The servers this sync owns: the servers file's lines.
    public private(set) var managed: [String: ManagedServer]

    /// Why a server is not in the backend.
    public struct Refusal: Sendable, Equatable {
        /// The list entry.
        public var url: String
        /// HAProxy's answer, or why the host has no address.
        public var reason: String
        /// When it was refused.
        public var at: Duration
    }

    /// What to do now.
    public struct Plan: Sendable, Equatable {
        /// The commands, in order.
        public var commands: [RuntimeCommand] = []
        /// One line per change, for the log.
        public var notes: [String] = []
    }

    /// A planner owning the servers the servers file holds.
    public init(configuration: IngressConfiguration, managed: [ManagedServer] = []) {
        self.configuration = configuration
        self.managed = Dictionary(managed.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// The managed servers in a stable order, for the servers file.
    public var fileLines: [ManagedServer] { managed.values.sorted { $0.name < $1.name } }

    /// HAProxy restarted or reloaded: what was under way is looked at again from what it reports.
    public mutating func haproxyRestarted() {
        pending = [:]
        parked = []
    }

    /// The plan that brings `observed` toward `specs`; `answering` names the parked servers whose
    /// own probe answered since the last plan.
    public mutating func plan(specs: [IngressServerSpec], observed: BackendSnapshot, answering: Set<String>, now: Duration) -> Plan {
        var plan = Plan()
        let listed = Set(specs.map(\.name))
        for spec in specs {
            planListed(spec, observed: observed.servers[spec.name], answering: answering, now: now, into: &plan)
        }
        for name in managed.keys.sorted() where !listed.contains(name) {
            planLeaving(name, observed: observed.servers[name], now: now, into: &plan)
        }
        // Refusals of servers no longer listed are forgotten.
        refused = refused.filter { listed.contains($0.key) }
        return plan
    }

    private mutating func planListed(_ spec: IngressServerSpec, observed: BackendServer?, answering: Set<String>, now: Duration, into plan: inout Plan) {
        let name = spec.name
        leaving[name] = nil
        if let refusal = refused[name] {
            guard now - refusal.at >= configuration.refusalRetry else { return }
            refused[name] = nil
        }
        guard let address = spec.address else {
            refuse(name, url: spec.url, reason: spec.unresolved ?? "the host has no address", at: now, into: &plan)
            return
        }
        if observed != nil, managed[name] == nil {
            // Same name, not in the servers file: someone else's server. Left alone.
            return
        }
        let checks = configuration.checksEnabled
        var line = ManagedServer(name: name, url: spec.url, address: address, port: spec.port,
                                 options: configuration.options(for: spec), inService: false)
        guard let server = observed else {
            plan.commands.append(.add(line))
            pending[name] = nil
            parked.remove(name)
            switch spec.state {
            case .maint:
                plan.notes.append("\(name) (\(spec.url)): added at \(line.endpoint), in maintenance as listed")
            case .drain:
                plan.commands += [.setState(server: name, .drain)] + (checks ? [.enableHealth(server: name)] : [])
                plan.notes.append("\(name) (\(spec.url)): added at \(line.endpoint), draining as listed")
            case .ready where checks:
                plan.commands += [.setState(server: name, .drain), .enableHealth(server: name)]
                pending[name] = now
                plan.notes.append("\(name) (\(spec.url)): added at \(line.endpoint); in service once a check passes")
            case .ready:
                plan.commands.append(.setState(server: name, .ready))
                line.inService = true
                plan.notes.append("\(name) (\(spec.url)): added at \(line.endpoint), in service (no checks)")
            }
            managed[name] = line
            return
        }
        if server.address != address || server.port != spec.port {
            plan.commands.append(.setAddress(server: name, address: address, port: spec.port))
            plan.notes.append("\(name) (\(spec.url)): address \(server.address):\(server.port) -> \(line.endpoint)")
        }
        switch spec.state {
        case .maint:
            forget(name)
            if !server.inMaintenance {
                plan.commands.append(.setState(server: name, .maint))
                plan.notes.append("\(name) (\(spec.url)): maintenance, as listed")
            }
        case .drain:
            forget(name)
            if server.inMaintenance || !server.draining {
                plan.commands += [.setState(server: name, .drain)] + (checks ? [.enableHealth(server: name)] : [])
                plan.notes.append("\(name) (\(spec.url)): draining, as listed")
            }
        case .ready:
            line.inService = planReady(spec, server: server, answering: answering, now: now, into: &plan)
        }
        managed[name] = line
    }

    /// A listed active server that is in the backend; returns whether it is in service.
    private mutating func planReady(_ spec: IngressServerSpec, server: BackendServer, answering: Set<String>, now: Duration, into plan: inout Plan) -> Bool {
        let name = spec.name
        let checks = configuration.checksEnabled
        if parked.contains(name) {
            if answering.contains(name) {
                parked.remove(name)
                pending[name] = now
                plan.commands += [.setState(server: name, .drain), .enableHealth(server: name)]
                plan.notes.append("\(name) (\(spec.url)): answers again; in service once a check passes")
            } else if !server.inMaintenance {
                plan.commands.append(.setState(server: name, .maint))
            }
            return false
        }
        if let since = pending[name] {
            if server.inMaintenance {
                // Put back in maintenance by a reload or by hand while it was coming up.
                plan.commands += [.setState(server: name, .drain), .enableHealth(server: name)]
                return false
            }
            if server.running && server.checkPassed {
                pending[name] = nil
                plan.commands.append(.setState(server: name, .ready))
                plan.notes.append("\(name) (\(spec.url)): passed its check after \(Self.seconds(now - since)); in service")
                return true
            }
            if now - since >= configuration.upTimeout {
                pending[name] = nil
                parked.insert(name)
                plan.commands.append(.setState(server: name, .maint))
                plan.notes.append("\(name) (\(spec.url)): not UP after \(Self.seconds(configuration.upTimeout)) (\(server.checkStatus.isEmpty ? server.status : server.checkStatus)); in maintenance until it answers")
            }
            return false
        }
        if server.inMaintenance {
            if checks {
                pending[name] = now
                plan.commands += [.setState(server: name, .drain), .enableHealth(server: name)]
                plan.notes.append("\(name) (\(spec.url)): out of maintenance; in service once a check passes")
                return false
            }
            plan.commands.append(.setState(server: name, .ready))
            plan.notes.append("\(name) (\(spec.url)): out of maintenance, in service")
            return true
        }
        if server.draining {
            plan.commands.append(.setState(server: name, .ready))
            plan.notes.append("\(name) (\(spec.url)): drain ended, in service")
        }
        return true
    }

    /// A managed server the list no longer holds: drained, then removed once its sessions end or
    /// the remove timeout passes.
    private mutating func planLeaving(_ name: String, observed: BackendServer?, now: Duration, into plan: inout Plan) {
        forget(name)
        let url = managed[name]?.url ?? name
        guard let server = observed else {
            managed[name] = nil
            leaving[name] = nil
            return
        }
        managed[name]?.inService = false
        guard let since = leaving[name] else {
            leaving[name] = now
            if !server.inMaintenance && !server.draining {
                plan.commands.append(.setState(server: name, .drain))
            }
            plan.notes.append("\(name) (\(url)): no longer listed; draining \(server.sessions) session\(server.sessions == 1 ? "" : "s")")
            return
        }
        let timedOut = now - since >= configuration.removeTimeout
        guard server.sessions == 0 || timedOut else { return }
        if !server.inMaintenance {
            plan.commands.append(.setState(server: name, .maint))
        }
        if server.sessions > 0 {
            plan.commands.append(.shutdownSessions(server: name))
            plan.notes.append("\(name) (\(url)): still \(server.sessions) session\(server.sessions == 1 ? "" : "s") after \(Self.seconds(configuration.removeTimeout)); cut")
        }
        plan.commands.append(.delete(server: name))
    }

    /// Reports the outcome of a command of the last plan.
    public mutating func carriedOut(_ command: RuntimeCommand, error: IngressError?, now: Duration) -> String? {
        let name = command.server
        switch (command, error) {
        case (.delete, nil):
            let url = managed[name]?.url ?? name
            managed[name] = nil
            leaving[name] = nil
            return "\(name) (\(url)): removed from the backend"
        case (.add(let line), let error?):
            managed[name] = nil
            pending[name] = nil
            refused[name] = Refusal(url: line.url, reason: error.description, at: now)
            return "\(name) (\(line.url)): not added: \(error.description)"
        case (_, let error?):
            return "\(name): \(error.description)"
        default:
            return nil
        }
    }

    /// Drops servers `haproxy -c` refused from the servers file, each with HAProxy's reason.
    public mutating func rejectedByCheck(_ reasons: [String: String], now: Duration) -> [String] {
        var notes: [String] = []
        for (name, reason) in reasons.sorted(by: { $0.key < $1.key }) {
            guard let line = managed[name] else { continue }
            managed[name] = nil
            pending[name] = nil
            refused[name] = Refusal(url: line.url, reason: reason, at: now)
            notes.append("\(name) (\(line.url)): refused by haproxy -c: \(reason)")
        }
        return notes
    }

    private mutating func refuse(_ name: String, url: String, reason: String, at now: Duration, into plan: inout Plan) {
        refused[name] = Refusal(url: url, reason: reason, at: now)
        plan.notes.append("\(name) (\(url)): not added: \(reason)")
    }

    private mutating func forget(_ name: String) {
        pending[name] = nil
        parked.remove(name)
    }

    static func seconds(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let value = Double(seconds) + Double(attoseconds) / 1e18
        return value >= 10 ? "\(Int(value.rounded())) s" : "\((value * 10).rounded() / 10) s"
    }
}
