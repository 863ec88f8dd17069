import DispatchTestSupport
import Foundation
import Synchronization

/// The nemesis's cluster and its means of harm: a PostgreSQL of its own (so that it may stop and
/// start it), three instances, a proxy on each instance's link to the database, and a proxy in
/// front of each instance, its advertised URL, which the members and the callers go through.
///
/// Why proxies, not network namespaces: the sim and PostgreSQL listen on loopback only, this
/// kernel has no `tc netem`, and the machines have neither iptables nor nft; a proxy that knows
/// which process opened each connection cuts one link, or one direction of it, and nothing else.
final class NemesisCluster: Sendable {
    /// The database every instance shares.
    let postgres: PrivatePostgresServer
    /// In front of each instance: its `--advertise-url`.
    let fronts: [StallingProxy]
    /// Between each instance and PostgreSQL.
    let databaseLinks: [StallingProxy]
    /// The instances' advertised URLs (the fronts').
    let urls: [String]
    private let instances: Mutex<[ClusterInstance]>
    /// The callers' process: this one.
    private let callers = getpid()

    private init(postgres: PrivatePostgresServer, fronts: [StallingProxy], databaseLinks: [StallingProxy], instances: [ClusterInstance]) {
        self.postgres = postgres
        self.fronts = fronts
        self.databaseLinks = databaseLinks
        self.urls = instances.map(\.url)
        self.instances = Mutex(instances)
    }

    /// Starts PostgreSQL, the proxies and `count` instances of `executable`.
    static func start(executable: String, count: Int = 3) async throws -> NemesisCluster {
        let postgres = try await offThread { try PrivatePostgresServer() }
        var fronts: [StallingProxy] = []
        var links: [StallingProxy] = []
        var started: [ClusterInstance] = []
        do {
            for _ in 0..<count {
                let port = try FreePort.take()
                let front = try StallingProxy(port: port)
                let link = try StallingProxy(port: postgres.port)
                fronts.append(front)
                links.append(link)
                started.append(try await ClusterInstance.start(
                    executable: executable, store: link.url(for: postgres.url), database: "", port: port,
                    advertiseURL: "http://127.0.0.1:\(front.port)"))
            }
        } catch {
            for instance in started { await instance.child.stop() }
            (fronts + links).forEach { $0.stop() }
            throw error
        }
        return NemesisCluster(postgres: postgres, fronts: fronts, databaseLinks: links, instances: started)
    }

    /// Stops the instances, the proxies and PostgreSQL.
    func stop() async {
        for instance in instances.withLock({ $0 }) { await instance.child.stop() }
        (fronts + databaseLinks).forEach { $0.stop() }
        try? await offThread { try self.postgres.stop() }
    }

    private func pid(_ index: Int) -> pid_t { instances.withLock { $0[index].child.pid } }

    /// Injects `fault`.
    func inject(_ fault: NemesisFault) async throws {
        switch fault {
        case .databaseLink(let index): databaseLinks[index].stall()
        case .databaseAway: databaseLinks.forEach { $0.stall() }
        case .databaseRestart: try await offThread { try self.postgres.crash() }
        case .peers(let index):
            for other in fronts.indices where other != index {
                fronts[index].block(from: pid(other))
                fronts[other].block(from: pid(index))
            }
        case .callers(let index): fronts[index].block(from: callers)
        case .oneWay(let follower, let leader): fronts[leader].block(from: pid(follower))
        case .kill(let index): kill(pid(index), SIGKILL)
        case .pause(let index): kill(pid(index), SIGSTOP)
        }
    }

    /// Heals `fault`: what was cut passes again, a killed instance starts again on its port, a
    /// frozen one goes on, the database starts again.
    func heal(_ fault: NemesisFault) async throws {
        switch fault {
        case .databaseLink, .databaseAway: databaseLinks.forEach { $0.resume() }
        case .databaseRestart: try await offThread { try self.postgres.start() }
        case .peers, .callers, .oneWay: fronts.forEach { $0.healAll() }
        case .kill(let index):
            let instance = instances.withLock { $0[index] }
            await instance.child.stop()
            let restarted = try await instance.restarted()
            instances.withLock { $0[index] = restarted }
        case .pause(let index): kill(pid(index), SIGCONT)
        }
    }
}
