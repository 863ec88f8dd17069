import NIOCore
import NIOEmbedded
import Testing
@testable import DispatchHTTPServer

/// The accept pacer on an `EmbeddedChannel`, whose clock the tests move by hand: which reads
/// reach the socket, and when. No sockets.
@Suite("Accept pacing on the listening socket")
struct AcceptPacerTests {
    /// Counts the reads that reach the front of the pipeline (where the socket would be read).
    final class ReadCounter: ChannelOutboundHandler {
        typealias OutboundIn = Never
        var reads = 0
        func read(context: ChannelHandlerContext) {
            reads += 1
            context.read()
        }
    }

    /// A channel with the counter at its front and a pacer of 1 ms behind it.
    static func channel() throws -> (EmbeddedChannel, ReadCounter, AcceptPacer) {
        let channel = EmbeddedChannel()
        let counter = ReadCounter()
        let pacer = AcceptPacer(interval: .milliseconds(1))
        try channel.pipeline.syncOperations.addHandler(counter)
        try channel.pipeline.syncOperations.addHandler(pacer)
        return (channel, counter, pacer)
    }

    @Test("the first read goes at once; reads asked for within the interval become one, an interval after the last")
    func backToBackReadsAreSpaced() throws {
        let (channel, counter, _) = try Self.channel()
        channel.read()
        #expect(counter.reads == 1)
        channel.embeddedEventLoop.advanceTime(by: .microseconds(500))
        channel.read()
        channel.read()
        channel.embeddedEventLoop.advanceTime(by: .microseconds(499))
        #expect(counter.reads == 1, "a batch less than an interval after the last")
        channel.embeddedEventLoop.advanceTime(by: .microseconds(1))
        #expect(counter.reads == 2, "the reads asked for meanwhile are passed on once, an interval after the last")
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(5))
        #expect(counter.reads == 2, "nothing more was asked for")
    }

    @Test("a read asked for an interval or more after the last goes at once")
    func occasionalReadsAreNotDelayed() throws {
        let (channel, counter, _) = try Self.channel()
        for expected in 1...3 {
            channel.read()
            #expect(counter.reads == expected)
            channel.embeddedEventLoop.advanceTime(by: .milliseconds(1))
        }
    }

    @Test("under a steady flood every batch is an interval after the one before, counted from when it was passed on")
    func steadyFloodIsPaced() throws {
        let (channel, counter, _) = try Self.channel()
        channel.read()
        channel.read()
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(1))
        #expect(counter.reads == 2)
        // NIO asks again right after each batch: held back a whole interval each time.
        for expected in 3...5 {
            channel.read()
            #expect(counter.reads == expected - 1)
            channel.embeddedEventLoop.advanceTime(by: .microseconds(500))
            #expect(counter.reads == expected - 1, "half an interval after the last batch")
            channel.embeddedEventLoop.advanceTime(by: .microseconds(500))
            #expect(counter.reads == expected)
        }
    }

    @Test("a read still waiting when the pacer is removed is passed on at once, so the server keeps accepting")
    func removalPassesTheWaitingReadOn() throws {
        let (channel, counter, pacer) = try Self.channel()
        channel.read()
        channel.read()
        #expect(counter.reads == 1)
        try channel.pipeline.syncOperations.removeHandler(pacer).wait()
        #expect(counter.reads == 2, "the held read reaches the socket")
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(5))
        #expect(counter.reads == 2, "and only once")
    }
}
