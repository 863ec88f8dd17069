@testable import DispatchHTTPServer
import Logging
import NIOCore
import NIOEmbedded
import Testing

@Suite("The connection limit follows the file limit")
struct ConnectionGateTests {
    @Test("the budget: a reserve of the current limit; --max-connections never above what the limit allows")
    func budget() throws {
        #expect(ConnectionBudget.allowed(fileLimit: 4_096) == 3_072)
        #expect(ConnectionBudget.allowed(fileLimit: 2_048) == 1_024)
        #expect(ConnectionBudget.allowed(fileLimit: 1_024) == 512)
        #expect(ConnectionBudget(configured: 100).cap(fileLimit: 4_096) == 100)
        #expect(ConnectionBudget(configured: 3_000).cap(fileLimit: 2_048) == 1_024, "a lowered limit lowers an explicit cap too")
        #expect(ConnectionBudget().cap(fileLimit: 65_536) == 49_152)
        #expect(throws: ConnectionBudgetError.self) { try ConnectionBudget(configured: 3_073).validated(fileLimit: 4_096) }
        #expect(try ConnectionBudget(configured: 3_072).validated(fileLimit: 4_096) == ConnectionBudget(configured: 3_072))
        let error = ConnectionBudgetError(configured: 5_000, fileLimit: 4_096, allowed: 3_072)
        #expect(!error.description.contains("\n") && error.description.contains("5000") && error.description.contains("4096"))
    }

    @Test("a lower file limit closes the newest connections until the rest fit; the oldest stay; a higher one closes nothing")
    func shedsNewestFirst() throws {
        let metrics = CountingConnectionMetrics()
        let gate = ConnectionGate(budget: ConnectionBudget(), fileLimit: 4_096, metrics: metrics)
        #expect(gate.limit == 3_072 && metrics.limit.load(ordering: .relaxed) == 3_072)
        var channels: [EmbeddedChannel] = []
        for _ in 0..<1_500 {
            let channel = EmbeddedChannel()
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
            #expect(gate.admit(channel))
            channel.closeFuture.whenComplete { _ in gate.release(channel) }
            channels.append(channel)
        }
        #expect(gate.follow(fileLimit: 4_096) == nil, "the same limit changes nothing")

        let change = try #require(gate.follow(fileLimit: 2_048))
        #expect(change == ConnectionGate.LimitChange(fileLimit: 2_048, from: 3_072, to: 1_024, closed: 476))
        #expect(channels.prefix(1_024).allSatisfy { $0.isActive }, "the oldest connections stay")
        #expect(channels.suffix(476).allSatisfy { !$0.isActive }, "the newest are closed")
        for channel in channels { channel.embeddedEventLoop.run() }
        #expect(gate.openConnections == 1_024 && metrics.shed.load(ordering: .relaxed) == 476, "\(gate.openConnections)")
        let late = EmbeddedChannel()
        #expect(!gate.admit(late), "no room at the new limit")

        #expect(gate.follow(fileLimit: 8_192)?.closed == 0)
        #expect(gate.limit == 6_144 && gate.admit(late))
        for channel in channels where channel.isActive { _ = try channel.finish() }
    }

    @Test("the watcher reads the limit each time it checks, and logs a change once")
    func watcherFollows() {
        let gate = ConnectionGate(budget: ConnectionBudget(), fileLimit: 4_096, metrics: CountingConnectionMetrics())
        let reading = LimitReading(4_096)
        let watcher = FileLimitWatcher(gate: gate, clock: ContinuousClock(), logger: Logger(label: "test"), readLimit: { reading.value })
        #expect(watcher.check() == nil)
        reading.value = 1_024
        #expect(watcher.check()?.to == 512)
        #expect(watcher.check() == nil, "unchanged: nothing to log")
        #expect(gate.limit == 512)
    }
}

/// A file limit a test sets.
final class LimitReading: @unchecked Sendable {
    // Set and read on the test's own task only.
    var value: Int
    init(_ value: Int) { self.value = value }
}
