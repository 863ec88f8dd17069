import NIOCore
import Testing
@testable import DispatchHTTPServer

/// The timeout rules of one connection, driven by hand with made-up times; no sockets.
@Suite("Connection timeout state")
struct ConnectionTimeoutStateTests {
    /// Request timeout 10 s, idle timeout 60 s, opened at time zero.
    static func opened() -> ConnectionTimeoutState {
        ConnectionTimeoutState(requestTimeout: .seconds(10), idleTimeout: .seconds(60), openedAt: at(0))
    }

    /// The instant `seconds` after time zero (an arbitrary uptime, so that zero is not special).
    static func at(_ seconds: Double) -> NIODeadline {
        .uptimeNanoseconds(1_000_000_000_000 + UInt64(seconds * 1e9))
    }

    /// One whole request at `start`, answered at `end`.
    static func exchange(_ state: inout ConnectionTimeoutState, start: Double, end: Double) {
        state.bytesArrived(at: at(start))
        state.requestHeadArrived()
        state.requestEnded(at: at(start))
        state.answerStarted()
        state.answerEnded(at: at(end))
    }

    @Test("a new connection that sends nothing is closed after the request timeout, without an answer")
    func silentNewConnection() {
        var state = Self.opened()
        #expect(state.deadline == Self.at(10))
        #expect(state.timerFired(at: Self.at(9.9)) == .checkAgain(at: Self.at(10)))
        #expect(state.timerFired(at: Self.at(10)) == .closeIdle)
        #expect(state.timerFired(at: Self.at(11)) == .none)
    }

    @Test("half a head: 408 and close once the request timeout has passed since its first byte")
    func halfHead() {
        var state = Self.opened()
        state.bytesArrived(at: Self.at(3))
        state.bytesArrived(at: Self.at(8))  // more of it, later: the bound still runs from the first byte
        #expect(state.deadline == Self.at(13))
        #expect(state.timerFired(at: Self.at(10)) == .checkAgain(at: Self.at(13)))
        #expect(state.timerFired(at: Self.at(13)) == .answerRequestTimeoutAndClose)
    }

    @Test("a head whose body stalls: 408 and close")
    func stalledBody() {
        var state = Self.opened()
        state.bytesArrived(at: Self.at(1))
        state.requestHeadArrived()
        #expect(state.timerFired(at: Self.at(11)) == .answerRequestTimeoutAndClose)
    }

    @Test("a body that stalls after an early answer (401 or 413 before the body): closed, no second answer")
    func stalledBodyAfterEarlyAnswer() {
        var state = Self.opened()
        state.bytesArrived(at: Self.at(1))
        state.requestHeadArrived()
        state.answerStarted()
        state.answerEnded(at: Self.at(1.5))
        #expect(state.deadline == Self.at(11), "still receiving: the request timeout applies")
        #expect(state.timerFired(at: Self.at(11)) == .closeStalledRequest)
    }

    @Test("a request that stalls while an earlier answer is being written: closed, no 408 out of order")
    func stalledPipelinedRequest() {
        var state = Self.opened()
        state.bytesArrived(at: Self.at(0))
        state.requestHeadArrived()
        state.requestEnded(at: Self.at(0))
        state.answerStarted()
        state.bytesArrived(at: Self.at(1))  // the next request begins before the answer is done
        #expect(state.timerFired(at: Self.at(11)) == .closeStalledRequest)
    }

    @Test("while an answer is owed nothing times out; afterwards the idle timeout runs from the answer's end")
    func answeringThenIdle() {
        var state = Self.opened()
        state.bytesArrived(at: Self.at(1))
        state.requestHeadArrived()
        state.requestEnded(at: Self.at(1))
        #expect(state.deadline == nil)
        #expect(state.timerFired(at: Self.at(30)) == .checkAgain(at: Self.at(40)))
        state.answerStarted()
        state.answerEnded(at: Self.at(35))
        #expect(state.deadline == Self.at(95))
        #expect(state.timerFired(at: Self.at(94)) == .checkAgain(at: Self.at(95)))
        #expect(state.timerFired(at: Self.at(95)) == .closeIdle)
    }

    @Test("a request every second keeps a connection open past the idle timeout")
    func activityKeepsItOpen() {
        var state = Self.opened()
        var next = state.nextCheck(after: Self.at(0))
        for second in 1...120 {
            Self.exchange(&state, start: Double(second), end: Double(second) + 0.001)
            if Self.at(Double(second) + 0.5) >= next {
                let action = state.timerFired(at: Self.at(Double(second) + 0.5))
                guard case .checkAgain(let at) = action else {
                    Issue.record("closed at \(second) s: \(action)")
                    return
                }
                next = at
            }
        }
        #expect(state.deadline == Self.at(180.001))
    }

    @Test("the next check is never later than the shorter timeout from now, so no event can need an earlier one")
    func nextCheckIsSoonEnough() {
        var state = Self.opened()
        Self.exchange(&state, start: 0, end: 0)
        // Idle: deadline at 60 s, but the check comes at 10 s, in case a request begins meanwhile.
        #expect(state.nextCheck(after: Self.at(0)) == Self.at(10))
        state.bytesArrived(at: Self.at(5))
        #expect(state.timerFired(at: Self.at(10)) == .checkAgain(at: Self.at(15)))
        #expect(state.timerFired(at: Self.at(15)) == .answerRequestTimeoutAndClose)
    }

    @Test("an answer written before the request's end, then the end: the connection waits again")
    func earlyAnswerThenEnd() {
        var state = Self.opened()
        state.bytesArrived(at: Self.at(1))
        state.requestHeadArrived()
        state.answerStarted()
        state.answerEnded(at: Self.at(2))
        state.requestEnded(at: Self.at(3))
        #expect(!state.isReceiving)
        #expect(state.deadline == Self.at(63))
    }

    @Test("an answer being written holds off the idle timeout until its end")
    func answerInProgress() {
        var state = Self.opened()
        Self.exchange(&state, start: 0, end: 1)
        state.bytesArrived(at: Self.at(2))
        state.requestHeadArrived()
        state.requestEnded(at: Self.at(2))
        state.answerStarted()
        #expect(state.deadline == nil)
        state.answerEnded(at: Self.at(4))
        #expect(state.deadline == Self.at(64))
    }

    @Test("the default connection limit leaves a reserve of descriptors")
    func defaultMaxConnections() {
        #expect(HTTPConnectionConfiguration.defaultMaxConnections(fileLimit: 1_024) == 512)
        #expect(HTTPConnectionConfiguration.defaultMaxConnections(fileLimit: 2_048) == 1_024)
        #expect(HTTPConnectionConfiguration.defaultMaxConnections(fileLimit: 4_096) == 3_072)
        #expect(HTTPConnectionConfiguration.defaultMaxConnections(fileLimit: 65_536) == 49_152)
        #expect(HTTPConnectionConfiguration.defaultMaxConnections(fileLimit: 16) == 8)
        #expect(HTTPConnectionConfiguration.defaultMaxConnections(fileLimit: 1) == 1)
    }
}
