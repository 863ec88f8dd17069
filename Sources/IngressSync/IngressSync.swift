import Foundation
import HealthProber
import Logging
import ServiceLifecycle
import SettingsStore

/// `ingress sync`: keeps one HAProxy backend equal to the fleet list through the Runtime API,
/// without reloading HAProxy. Each round reads the list and the backend, asks the
/// ``IngressPlanner`` what to change, writes the servers file first (checked with `haproxy -c`)
/// so that a reload keeps the change, then sends the commands, and records what it did.
public final class IngressSync: Service {
    /// The backend, socket, files and timeouts.
    public let configuration: IngressConfiguration
    private let source: any IngressListSource
    private let runtime: HAProxyRuntime
    private let recorder: (@Sendable (IngressView) async throws -> Void)?
    private let logger: Logger

    /// A sync of `configuration.backend` to `source`; `recorder`, when given, receives the
    /// ingress's view for the dispatchers (the settings store).
    public init(configuration: IngressConfiguration, source: any IngressListSource,
                recorder: (@Sendable (IngressView) async throws -> Void)?, logger: Logger) {
        self.configuration = configuration
        self.source = source
        self.runtime = HAProxyRuntime(path: configuration.socketPath)
        self.recorder = recorder
        self.logger = logger
    }

    /// Checks the socket, the backend and the servers file before anything changes.
    /// - Throws: ``IngressError`` with the line the command prints.
    public func verify() throws(IngressError) {
        _ = try runtime.verify(backend: configuration.backend)
        _ = try ServersFile.load(path: configuration.serversFile, backend: configuration.backend)
    }

    /// Runs until graceful shutdown or cancellation.
    public func run() async throws {
        try await cancelWhenGracefulShutdown { try await self.loop() }
    }

    private func loop() async throws {
        var round = Round(configuration: configuration, file: try ServersFile.load(path: configuration.serversFile, backend: configuration.backend))
        let prober = try? HealthProber(configuration: ProberConfiguration(timeout: .seconds(1)))
        defer { prober?.shutdown() }
        let sourceTask = Task { await source.run() }
        defer { sourceTask.cancel() }
        let start = ContinuousClock.now
        var lastProbe = start - configuration.parkedProbeInterval
        var lastRecord = start - .seconds(60)
        while !Task.isCancelled {
            let now = ContinuousClock.now
            var answering: Set<String> = []
            if !round.planner.parked.isEmpty, now - lastProbe >= configuration.parkedProbeInterval, let prober {
                lastProbe = now
                let parked = round.planner.parked.compactMap { name in round.planner.managed[name].map { (name, $0.url) } }
                let outcomes = await prober.probe(parked.map(\.1))
                for ((name, _), outcome) in zip(parked, outcomes) {
                    if case .success = outcome { answering.insert(name) }
                }
            }
            if let list = source.current() {
                let changed = step(&round, list: list, answering: answering, now: now - start)
                if let recorder, changed || now - lastRecord >= .seconds(5) {
                    lastRecord = now
                    do {
                        try await recorder(round.view)
                        round.noteRecorded(error: nil, logger: logger)
                    } catch {
                        round.noteRecorded(error: "\(error)", logger: logger)
                    }
                }
            }
            try? await Task.sleep(for: configuration.interval)
        }
    }

    /// One round; returns whether anything the dispatchers show changed.
    private func step(_ round: inout Round, list: IngressList, answering: Set<String>, now: Duration) -> Bool {
        let observed: BackendSnapshot
        do {
            let info = try runtime.info()
            if let seen = round.haproxyPid, seen != info.pid {
                logger.notice("HAProxy restarted or reloaded (worker \(seen) -> \(info.pid)): reconciling from scratch")
                round.planner.haproxyRestarted()
            }
            round.haproxyPid = info.pid
            observed = try runtime.snapshot(backend: configuration.backend)
            if let error = round.haproxyError {
                logger.notice("HAProxy's admin socket answers again (was: \(error))")
                round.haproxyError = nil
            }
        } catch {
            if round.haproxyError == nil {
                logger.error("cannot read the backend, nothing changed until HAProxy answers: \(error)")
            }
            round.haproxyError = error.description
            round.writeStatus(differences: nil, now: now)
            return false
        }
        let specs = round.resolve(list.specs)
        var plan = round.planner.plan(specs: specs, observed: observed, answering: answering, now: now)
        if round.planner.fileLines != round.file.managed {
            // The file first: a reload between the two keeps what the commands do.
            for _ in 0..<3 {
                let next = ServersFile(preamble: round.file.preamble, managed: round.planner.fileLines)
                do {
                    let refusals = try next.write(path: configuration.serversFile, configs: configuration.haproxyConfigs, haproxy: configuration.haproxyBinary)
                    if refusals.isEmpty {
                        if round.fileError != nil { logger.notice("the servers file is written again") }
                        round.fileError = nil
                        round.file = next
                        break
                    }
                    for note in round.planner.rejectedByCheck(refusals, now: now) { logger.error("\(note)") }
                    plan = round.planner.plan(specs: specs, observed: observed, answering: answering, now: now)
                    plan.commands.removeAll { command in refusals[command.server] != nil }
                } catch {
                    // Once per error, not every round: it holds until the configuration is fixed.
                    if round.fileError != error.description {
                        logger.error("the servers file was not changed, so no server is: \(error)")
                    }
                    round.fileError = error.description
                    round.writeStatus(differences: nil, now: now)
                    return false
                }
            }
            guard round.planner.fileLines == round.file.managed else { return false }
        }
        for note in plan.notes { logger.notice("\(note)") }
        for command in plan.commands {
            var failure: IngressError?
            do {
                try runtime.execute(command.text(backend: configuration.backend))
                round.changesApplied += 1
            } catch {
                failure = error
            }
            if let note = round.planner.carriedOut(command, error: failure, now: now) {
                if failure == nil { logger.notice("\(note)") } else { logger.error("\(note)") }
            }
        }
        if round.planner.fileLines != round.file.managed {
            // Servers removed by the commands leave the file now, not a round later.
            let next = ServersFile(preamble: round.file.preamble, managed: round.planner.fileLines)
            do {
                if try next.write(path: configuration.serversFile, configs: configuration.haproxyConfigs, haproxy: configuration.haproxyBinary).isEmpty {
                    round.file = next
                }
            } catch {
                logger.error("the servers file still lists removed servers: \(error)")
            }
        }
        let after = plan.commands.isEmpty ? observed : ((try? runtime.snapshot(backend: configuration.backend)) ?? observed)
        let differences = IngressDifference.between(specs: specs, observed: after, managed: Set(round.planner.managed.keys),
                                                    refusals: round.planner.refused.mapValues(\.reason))
        return round.update(specs: specs, observed: after, differences: differences, now: now)
    }

    /// What the loop keeps between rounds.
    struct Round {
        let configuration: IngressConfiguration
        var planner: IngressPlanner
        var file: ServersFile
        var haproxyPid: Int?
        var haproxyError: String?
        var fileError: String?
        var changesApplied = 0
        var outOfStepSince: Date?
        var view: IngressView
        var recordError: String?
        var lastStatus: IngressSyncStatus?
        var lastStatusWrite = ContinuousClock.now - .seconds(60)
        var addresses: [String: (Result<String, AddressResolver.ResolutionFailure>, ContinuousClock.Instant)] = [:]

        init(configuration: IngressConfiguration, file: ServersFile) {
            self.configuration = configuration
            self.file = file
            planner = IngressPlanner(configuration: configuration, managed: file.managed)
            view = IngressView(ingress: configuration.ingressName, updatedAt: IngressSyncStatus.timestamp(.now), inStep: false, servers: [])
        }

        /// Each spec with its host's address (resolved at most once a minute per host).
        mutating func resolve(_ specs: [IngressServerSpec]) -> [IngressServerSpec] {
            specs.map { spec in
                var spec = spec
                let now = ContinuousClock.now
                let result: Result<String, AddressResolver.ResolutionFailure>
                if let (cached, at) = addresses[spec.host], now - at < .seconds(60) {
                    result = cached
                } else {
                    result = AddressResolver.resolve(spec.host)
                    addresses[spec.host] = (result, now)
                }
                switch result {
                case .success(let address): spec.address = address
                case .failure(let failure): spec.unresolved = failure.description
                }
                return spec
            }
        }

        /// Takes the round's outcome; returns whether the view changed.
        mutating func update(specs: [IngressServerSpec], observed: BackendSnapshot, differences: [IngressDifference], now: Duration) -> Bool {
            var servers = specs.map { spec -> IngressView.Server in
                if let server = observed.servers[spec.name] {
                    return IngressView.Server(url: spec.url, state: server.state, up: server.up)
                }
                return IngressView.Server(url: spec.url, state: planner.refused[spec.name] == nil ? "missing" : "refused", up: false)
            }
            // Entries sharing a server: each URL shows that server's state.
            for spec in specs where spec.urls.count > 1 {
                guard let first = servers.first(where: { $0.url == spec.url }) else { continue }
                servers += spec.urls.dropFirst().map { IngressView.Server(url: $0, state: first.state, up: first.up) }
            }
            let inStep = differences.isEmpty
            if inStep { outOfStepSince = nil } else if outOfStepSince == nil { outOfStepSince = .now }
            let changed = servers != view.servers || inStep != view.inStep
            view = IngressView(ingress: configuration.ingressName, updatedAt: IngressSyncStatus.timestamp(.now), inStep: inStep, servers: servers)
            writeStatus(differences: differences, now: now)
            return changed
        }

        mutating func noteRecorded(error: String?, logger: Logger) {
            if let error, recordError == nil {
                logger.warning("cannot record this ingress's view in the settings store (the page shows it stale): \(error)")
            } else if error == nil, recordError != nil {
                logger.notice("this ingress's view is recorded in the settings store again")
            }
            recordError = error
        }

        /// Writes the status file `ingress status` reads.
        mutating func writeStatus(differences: [IngressDifference]?, now: Duration) {
            var failures = planner.refused.sorted { $0.key < $1.key }.map {
                IngressSyncStatus.Failure(server: $0.key, url: $0.value.url, reason: $0.value.reason)
            }
            failures += planner.parked.sorted().map {
                IngressSyncStatus.Failure(server: $0, url: planner.managed[$0]?.url ?? $0,
                                          reason: "not UP within \(IngressPlanner.seconds(configuration.upTimeout)); in maintenance until it answers")
            }
            let inStep = differences?.isEmpty ?? false
            if !inStep, outOfStepSince == nil { outOfStepSince = .now }
            var status = IngressSyncStatus(
                backend: configuration.backend, ingress: configuration.ingressName, updatedAt: "",
                pid: getpid(), haproxyPid: haproxyPid, inStep: inStep, outOfStepSince: outOfStepSince.map(IngressSyncStatus.timestamp),
                changesApplied: changesApplied, failures: failures, haproxyError: haproxyError ?? fileError)
            // Written when it changes, and every two seconds so that its age shows the sync runs.
            guard status != lastStatus || ContinuousClock.now - lastStatusWrite >= .seconds(2) else { return }
            lastStatus = status
            lastStatusWrite = .now
            status.updatedAt = IngressSyncStatus.timestamp(.now)
            try? status.write(path: configuration.statusFile)
        }
    }
}
