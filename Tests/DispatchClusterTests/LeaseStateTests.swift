import DispatchCluster
import DispatchTestSupport
import Testing

/// The lease on a mock clock, with the database played by hand: each round trip is a
/// `startAttempt` and the row the database would answer (defaults: ttl 600 ms, renew 150 ms,
/// poll 100 ms, margin 60 ms).
@Suite("The lease as a state machine")
struct LeaseStateTests {
    typealias Lease = LeaseState<TestInstant>

    static let me = "instance-a"
    static let other = "instance-b"

    static func row(_ holder: String, fencing: Int64, remaining: Int = 600) -> LeaseRow {
        LeaseRow(holder: holder, holderURL: "http://\(holder)", fencing: fencing, remaining: .milliseconds(remaining))
    }

    /// One round trip that starts at `start`, answers `row` at `end`.
    static func roundTrip(_ lease: inout Lease, _ row: LeaseRow, start: Int, end: Int) {
        lease.startAttempt(now: ms(start))
        lease.attemptSucceeded(row, now: ms(end))
    }

    @Test("acquire: the first round trip that reads our own row makes us leader under its fencing number")
    func acquire() {
        var lease = Lease(identity: Self.me, url: "http://\(Self.me)")
        #expect(lease.nextAttemptDue(now: ms(0)) == ms(0), "the first round trip is due at once")
        #expect(lease.role(now: ms(0)) == .electing)
        lease.startAttempt(now: ms(0))
        #expect(lease.nextAttemptDue(now: ms(1)) == nil, "one round trip at a time")
        let change = lease.attemptSucceeded(Self.row(Self.me, fencing: 7), now: ms(5))
        #expect(change == nil || change?.to == .leader(fencing: 7))
        #expect(lease.role(now: ms(5)) == .leader(fencing: 7))
        // The term counts from the round trip's start, less the margin: 0 + 600 - 60.
        #expect(lease.termEnd == ms(540))
        #expect(lease.nextAttemptDue(now: ms(5)) == ms(150), "a leader renews every 150 ms")
    }

    @Test("renew: each answered renewal extends the term from its own start")
    func renew() {
        var lease = Lease(identity: Self.me, url: "http://\(Self.me)")
        Self.roundTrip(&lease, Self.row(Self.me, fencing: 1), start: 0, end: 2)
        Self.roundTrip(&lease, Self.row(Self.me, fencing: 1), start: 150, end: 170)
        #expect(lease.termEnd == ms(690))
        #expect(lease.role(now: ms(689)) == .leader(fencing: 1))
        // A slow answer does not lengthen the term: it still counts from the start.
        Self.roundTrip(&lease, Self.row(Self.me, fencing: 1), start: 300, end: 480)
        #expect(lease.termEnd == ms(840))
        // The database says less is left than the ttl: the term is shortened to match.
        Self.roundTrip(&lease, Self.row(Self.me, fencing: 1, remaining: 300), start: 450, end: 455)
        #expect(lease.termEnd == ms(690))
    }

    @Test("lose on a missed renewal: with no answer the leader stops deciding at the term's end, and decides alone after")
    func loseOnMissedRenewal() {
        var lease = Lease(identity: Self.me, url: "http://\(Self.me)")
        Self.roundTrip(&lease, Self.row(Self.me, fencing: 3), start: 0, end: 2)
        lease.startAttempt(now: ms(150))
        lease.attemptFailed(now: ms(350))
        #expect(lease.nextAttemptDue(now: ms(350)) == ms(250), "after a failure, the poll interval")
        lease.startAttempt(now: ms(350))
        lease.attemptFailed(now: ms(550))
        #expect(lease.role(now: ms(539)) == .leader(fencing: 3))
        // 540 ms: the term is over. The database last answered at 2 ms; from 542 ms it counts
        // as out of reach and this instance decides alone, without a fencing number.
        #expect(lease.role(now: ms(540)) == .electing)
        #expect(lease.role(now: ms(542)) == .degraded)
        #expect(lease.termEnd == ms(540))
        // The database is back: the row is still ours, lapsed, so the next term has a new number.
        Self.roundTrip(&lease, Self.row(Self.me, fencing: 4), start: 2000, end: 2003)
        #expect(lease.role(now: ms(2003)) == .leader(fencing: 4))
    }

    @Test("fencing: a follower knows the leader's number; every new term has a higher one")
    func fencing() {
        var lease = Lease(identity: Self.me, url: "http://\(Self.me)")
        Self.roundTrip(&lease, Self.row(Self.other, fencing: 9), start: 0, end: 3)
        #expect(lease.role(now: ms(3)) == .follower(leaderURL: "http://\(Self.other)", fencing: 9))
        #expect(lease.nextAttemptDue(now: ms(3)) == ms(100), "a follower polls every 100 ms")
        #expect(lease.termEnd == nil)
        Self.roundTrip(&lease, Self.row(Self.other, fencing: 9), start: 100, end: 101)
        #expect(lease.lastRow?.fencing == 9)
    }

    @Test("takeover: when the leader stops renewing, the follower takes the lapsed lease under the next number")
    func takeover() {
        var lease = Lease(identity: Self.me, url: "http://\(Self.me)")
        Self.roundTrip(&lease, Self.row(Self.other, fencing: 9, remaining: 400), start: 0, end: 1)
        // The leader died at once: its row lapses 400 ms later; the follower trusts it until then.
        #expect(lease.role(now: ms(399)) == .follower(leaderURL: "http://\(Self.other)", fencing: 9))
        #expect(lease.role(now: ms(401)) == .electing, "the holder's lease ran out: nobody decides until the next round trip")
        // The database confirms it lapsed (it was already electing: no change to report).
        #expect(lease.attemptSucceeded(Self.row(Self.other, fencing: 9, remaining: -5), now: ms(402)) == nil)
        #expect(lease.role(now: ms(402)) == .electing)
        // The next round trip takes it (the database raised the number).
        Self.roundTrip(&lease, Self.row(Self.me, fencing: 10), start: 500, end: 504)
        #expect(lease.role(now: ms(504)) == .leader(fencing: 10))
    }

    @Test("a forward that cannot reach the leader sends the follower to the database at once")
    func leaderUnreachable() {
        var lease = Lease(identity: Self.me, url: "http://\(Self.me)")
        Self.roundTrip(&lease, Self.row(Self.other, fencing: 2), start: 0, end: 1)
        lease.leaderUnreachable("http://\(Self.other)", now: ms(20))
        #expect(lease.role(now: ms(20)) == .electing)
        #expect(lease.nextAttemptDue(now: ms(20)) == ms(20))
        // The database says the leader still holds it: follow it again.
        Self.roundTrip(&lease, Self.row(Self.other, fencing: 2), start: 20, end: 22)
        #expect(lease.role(now: ms(22)) == .follower(leaderURL: "http://\(Self.other)", fencing: 2))
        // A report about some other URL changes nothing.
        lease.leaderUnreachable("http://elsewhere", now: ms(30))
        #expect(lease.role(now: ms(30)) == .follower(leaderURL: "http://\(Self.other)", fencing: 2))
    }

    @Test("step-down: the leader stops deciding at once, gives its number back, never leads again, and follows the next leader")
    func stepDown() {
        var lease = Lease(identity: Self.me, url: "http://\(Self.me)")
        Self.roundTrip(&lease, Self.row(Self.me, fencing: 5), start: 0, end: 1)
        #expect(lease.stepDown(now: ms(10)) == 5)
        #expect(lease.role(now: ms(10)) == .electing)
        #expect(lease.nextAttemptDue(now: ms(10)) == ms(10), "it reads the lease at once, to learn the next leader")
        // A renewal that was under way and answers afterwards does not make it leader again.
        lease.startAttempt(now: ms(10))
        lease.attemptSucceeded(Self.row(Self.me, fencing: 5), now: ms(12))
        #expect(lease.role(now: ms(12)) == .electing)
        #expect(lease.nextAttemptDue(now: ms(12)) == ms(110), "then polls as a follower")
        // Another instance takes it: the stepped-down one forwards to it.
        Self.roundTrip(&lease, Self.row(Self.other, fencing: 6), start: 110, end: 111)
        #expect(lease.role(now: ms(111)) == .follower(leaderURL: "http://\(Self.other)", fencing: 6))
        // A term already over is not given back.
        var late = Lease(identity: Self.me, url: "http://\(Self.me)")
        Self.roundTrip(&late, Self.row(Self.me, fencing: 5), start: 0, end: 1)
        #expect(late.stepDown(now: ms(600)) == nil)
    }

    @Test("a frozen leader resumes after its term: it neither decides under the lease nor alone until the database says who leads")
    func frozenLeaderResumes() {
        var lease = Lease(identity: Self.me, url: "http://\(Self.me)")
        Self.roundTrip(&lease, Self.row(Self.me, fencing: 1), start: 0, end: 1)
        lease.startAttempt(now: ms(150))
        // SIGSTOP at 151 ms, SIGCONT 5 s later: the clock is read at the decision. Its own
        // silence is no evidence that the database is gone: it waits, it does not decide alone.
        #expect(lease.role(now: ms(5151)) == .electing)
        // The renewal under way when it froze times out on resuming: still no evidence.
        lease.attemptFailed(now: ms(5151))
        #expect(lease.role(now: ms(5151)) == .electing)
        #expect(lease.nextAttemptDue(now: ms(5151)) == ms(250), "the next round trip is overdue: at once")
        // The next round trip answers: another instance took the lease meanwhile.
        Self.roundTrip(&lease, Self.row(Self.other, fencing: 2), start: 5151, end: 5152)
        #expect(lease.role(now: ms(5152)) == .follower(leaderURL: "http://\(Self.other)", fencing: 2))
    }

    @Test("a database down from the start: electing, then deciding alone once a lease's worth of time has passed")
    func degradedFromTheStart() {
        var lease = Lease(identity: Self.me, url: "http://\(Self.me)")
        #expect(lease.nextAttemptDue(now: ms(0)) == ms(0))
        lease.startAttempt(now: ms(0))
        lease.attemptFailed(now: ms(200))
        #expect(lease.role(now: ms(300)) == .electing)
        #expect(lease.role(now: ms(540)) == .degraded)
    }

    @Test("configurations that would let a leader lose its lease between renewals are refused")
    func configurationBounds() throws {
        #expect(throws: Never.self) { try LeaseConfiguration().validated() }
        var slow = LeaseConfiguration()
        slow.renewInterval = .milliseconds(500)
        #expect(throws: LeaseConfigurationError.self) { try slow.validated() }
        var margin = LeaseConfiguration()
        margin.safetyMargin = .milliseconds(600)
        #expect(throws: LeaseConfigurationError.self) { try margin.validated() }
        var zero = LeaseConfiguration()
        zero.ttl = .zero
        #expect(throws: LeaseConfigurationError.self) { try zero.validated() }
    }
}
