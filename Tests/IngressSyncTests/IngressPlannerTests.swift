import Testing
@testable import IngressSync

/// The planner's decisions on made-up HAProxy answers: no HAProxy, no socket, instants as plain durations.
@Suite struct IngressPlannerTests {
    let configuration = IngressConfiguration(backend: "voxcore", upTimeout: .seconds(30), removeTimeout: .seconds(60))

    func specs(_ urls: [String], states: [String: String] = [:]) -> [IngressServerSpec] {
        IngressServerSpec.specs(list: urls, operatorStates: states).map { spec in
            var spec = spec
            spec.address = "127.0.0.1"
            return spec
        }
    }

    func server(_ name: String, op: Int = 2, admin: Int = 0, check: Int = 3, sessions: Int = 0, port: Int = 9001) -> BackendServer {
        BackendServer(name: name, address: "127.0.0.1", port: port, operationalState: op, adminFlags: admin, checkResult: check, sessions: sessions)
    }

    @Test func namesFollowHostAndPortAndEntriesSharingOneAreOneServer() {
        let specs = IngressServerSpec.specs(
            list: ["http://127.0.0.1:9001", "http://127.0.0.1:9001/b", "https://fleet-2.example.com", "http://[::1]:9002"],
            operatorStates: ["http://127.0.0.1:9001/b": "draining"])
        #expect(specs.map(\.name) == ["vb-127.0.0.1-9001", "vb-fleet-2.example.com-443", "vb-__1-9002"])
        #expect(specs[0].urls == ["http://127.0.0.1:9001", "http://127.0.0.1:9001/b"])
        #expect(specs[0].state == .drain)  // the most restrictive of the entries
        #expect(specs[1].https && !specs[1].hostIsAddress)
        #expect(configuration.options(for: specs[1]).hasSuffix("ssl verify required ca-file @system-ca sni str(fleet-2.example.com) check-sni fleet-2.example.com"))
        #expect(configuration.options(for: specs[0]) == IngressConfiguration.defaultServerOptions)
    }

    @Test func aNewServerIsAddedDrainingAndInServiceOnceACheckPasses() {
        var planner = IngressPlanner(configuration: configuration)
        let wanted = specs(["http://127.0.0.1:9001"])
        let name = "vb-127.0.0.1-9001"
        let first = planner.plan(specs: wanted, observed: BackendSnapshot(servers: [:]), answering: [], now: .zero)
        guard case .add(let line) = first.commands.first else { Issue.record("no add: \(first.commands)"); return }
        #expect(line.endpoint == "127.0.0.1:9001" && !line.inService)
        #expect(first.commands.dropFirst() == [.setState(server: name, .drain), .enableHealth(server: name)])
        #expect(planner.pending[name] == .zero)
        // Checks not passed yet: nothing to do.
        let waiting = planner.plan(specs: wanted, observed: BackendSnapshot(servers: [name: server(name, op: 2, admin: 8, check: 0)]), answering: [], now: .seconds(1))
        #expect(waiting.commands.isEmpty)
        let passed = planner.plan(specs: wanted, observed: BackendSnapshot(servers: [name: server(name, op: 2, admin: 8, check: 3)]), answering: [], now: .seconds(2))
        #expect(passed.commands == [.setState(server: name, .ready)])
        #expect(planner.fileLines.first?.inService == true)
        #expect(planner.pending.isEmpty)
    }

    @Test func aServerNotUpInTimeIsParkedInMaintenanceThenReturnsWhenItAnswers() {
        var planner = IngressPlanner(configuration: configuration)
        let wanted = specs(["http://127.0.0.1:9001"])
        let name = "vb-127.0.0.1-9001"
        _ = planner.plan(specs: wanted, observed: BackendSnapshot(servers: [:]), answering: [], now: .zero)
        let down = BackendSnapshot(servers: [name: server(name, op: 0, admin: 8, check: 2)])
        #expect(planner.plan(specs: wanted, observed: down, answering: [], now: .seconds(29)).commands.isEmpty)
        let timedOut = planner.plan(specs: wanted, observed: down, answering: [], now: .seconds(30))
        #expect(timedOut.commands == [.setState(server: name, .maint)])
        #expect(planner.parked == [name])
        let parked = BackendSnapshot(servers: [name: server(name, op: 0, admin: 1, check: 2)])
        #expect(planner.plan(specs: wanted, observed: parked, answering: [], now: .seconds(40)).commands.isEmpty)
        let answers = planner.plan(specs: wanted, observed: parked, answering: [name], now: .seconds(41))
        #expect(answers.commands == [.setState(server: name, .drain), .enableHealth(server: name)])
        #expect(planner.parked.isEmpty && planner.pending[name] == .seconds(41))
    }

    @Test func operatorStatesAreMirrored() {
        let name = "vb-127.0.0.1-9001"
        var planner = IngressPlanner(configuration: configuration, managed: [
            ManagedServer(name: name, url: "http://127.0.0.1:9001", address: "127.0.0.1", port: 9001, options: "check", inService: true)])
        let up = BackendSnapshot(servers: [name: server(name)])
        let drained = planner.plan(specs: specs(["http://127.0.0.1:9001"], states: ["http://127.0.0.1:9001": "draining"]), observed: up, answering: [], now: .zero)
        #expect(drained.commands == [.setState(server: name, .drain), .enableHealth(server: name)])
        let maint = planner.plan(specs: specs(["http://127.0.0.1:9001"], states: ["http://127.0.0.1:9001": "maintenance"]), observed: up, answering: [], now: .zero)
        #expect(maint.commands == [.setState(server: name, .maint)])
        #expect(planner.fileLines.first?.inService == false)
        // Resume from drain: ready at once (it was checked all along).
        let fromDrain = planner.plan(specs: specs(["http://127.0.0.1:9001"]), observed: BackendSnapshot(servers: [name: server(name, admin: 8)]), answering: [], now: .zero)
        #expect(fromDrain.commands == [.setState(server: name, .ready)])
        // Resume from maintenance: through a passed check first.
        let fromMaint = planner.plan(specs: specs(["http://127.0.0.1:9001"]), observed: BackendSnapshot(servers: [name: server(name, op: 0, admin: 1, check: 0)]), answering: [], now: .seconds(5))
        #expect(fromMaint.commands == [.setState(server: name, .drain), .enableHealth(server: name)])
        #expect(planner.pending[name] == .seconds(5))
    }

    @Test func aServerNoLongerListedDrainsThenGoesWhenItsSessionsEndOrTheTimeoutPasses() {
        let name = "vb-127.0.0.1-9001"
        let line = ManagedServer(name: name, url: "http://127.0.0.1:9001", address: "127.0.0.1", port: 9001, options: "check", inService: true)
        var planner = IngressPlanner(configuration: configuration, managed: [line])
        let busy = BackendSnapshot(servers: [name: server(name, sessions: 2)])
        #expect(planner.plan(specs: [], observed: busy, answering: [], now: .zero).commands == [.setState(server: name, .drain)])
        let draining = BackendSnapshot(servers: [name: server(name, admin: 8, sessions: 2)])
        #expect(planner.plan(specs: [], observed: draining, answering: [], now: .seconds(59)).commands.isEmpty)
        #expect(planner.fileLines == [ManagedServer(name: name, url: line.url, address: "127.0.0.1", port: 9001, options: "check", inService: false)])
        let timedOut = planner.plan(specs: [], observed: draining, answering: [], now: .seconds(60))
        #expect(timedOut.commands == [.setState(server: name, .maint), .shutdownSessions(server: name), .delete(server: name)])
        _ = planner.carriedOut(.delete(server: name), error: nil, now: .seconds(60))
        #expect(planner.managed.isEmpty && planner.leaving.isEmpty)

        var quiet = IngressPlanner(configuration: configuration, managed: [line])
        _ = quiet.plan(specs: [], observed: busy, answering: [], now: .zero)
        let idle = BackendSnapshot(servers: [name: server(name, admin: 8, sessions: 0)])
        #expect(quiet.plan(specs: [], observed: idle, answering: [], now: .seconds(1)).commands == [.setState(server: name, .maint), .delete(server: name)])
    }

    @Test func serversItDidNotAddAreLeftAlone() {
        var planner = IngressPlanner(configuration: configuration)
        let theirs = BackendSnapshot(servers: ["web1": server("web1"), "vb-127.0.0.1-9001": server("vb-127.0.0.1-9001")])
        // Not listed and not managed: untouched. Listed under the same name but not added by the sync: untouched.
        let plan = planner.plan(specs: specs(["http://127.0.0.1:9001"]), observed: theirs, answering: [], now: .zero)
        #expect(plan.commands.isEmpty)
        #expect(planner.managed.isEmpty)
    }

    @Test func aRefusedServerIsReportedAndTriedAgainLater() {
        var planner = IngressPlanner(configuration: configuration)
        let wanted = specs(["http://127.0.0.1:9001", "http://127.0.0.1:9002"])
        let plan = planner.plan(specs: wanted, observed: BackendSnapshot(servers: [:]), answering: [], now: .zero)
        let add = plan.commands.first { if case .add = $0 { $0.server == "vb-127.0.0.1-9001" } else { false } }!
        let note = planner.carriedOut(add, error: .refused(command: "add server", answer: "unknown keyword"), now: .zero)
        #expect(note?.contains("not added") == true)
        #expect(planner.managed.keys.sorted() == ["vb-127.0.0.1-9002"])
        let soon = planner.plan(specs: wanted, observed: BackendSnapshot(servers: ["vb-127.0.0.1-9002": server("vb-127.0.0.1-9002", port: 9002)]), answering: [], now: .seconds(10))
        #expect(!soon.commands.contains { $0.server == "vb-127.0.0.1-9001" })
        let later = planner.plan(specs: wanted, observed: BackendSnapshot(servers: ["vb-127.0.0.1-9002": server("vb-127.0.0.1-9002", port: 9002)]), answering: [], now: .seconds(30))
        #expect(later.commands.contains { if case .add = $0 { $0.server == "vb-127.0.0.1-9001" } else { false } })
        var unresolved = specs(["http://no-such-host.invalid:9001"])
        unresolved[0].address = nil
        unresolved[0].unresolved = "cannot resolve no-such-host.invalid"
        let none = planner.plan(specs: unresolved, observed: BackendSnapshot(servers: [:]), answering: [], now: .seconds(31))
        #expect(none.commands.isEmpty && planner.refused["vb-no-such-host.invalid-9001"]?.reason == "cannot resolve no-such-host.invalid")
    }

    @Test func aRestartOfHAProxyIsReconciledFromTheServersFile() {
        // After a restart HAProxy holds the file's lines: a server coming up was written `disabled`.
        let name = "vb-127.0.0.1-9001"
        var planner = IngressPlanner(configuration: configuration)
        _ = planner.plan(specs: specs(["http://127.0.0.1:9001"]), observed: BackendSnapshot(servers: [:]), answering: [], now: .zero)
        planner.haproxyRestarted()
        let restarted = BackendSnapshot(servers: [name: server(name, op: 0, admin: 5, check: 0)])
        let plan = planner.plan(specs: specs(["http://127.0.0.1:9001"]), observed: restarted, answering: [], now: .seconds(1))
        #expect(plan.commands == [.setState(server: name, .drain), .enableHealth(server: name)])
    }
}
