import NIOCore

/// The request and idle timeouts of one HTTP connection, as a value with no I/O:
/// ``ConnectionTimeoutHandler`` reports what passes through the pipeline and, when its timer
/// fires, does what ``timerFired(at:)`` says. Tested without sockets.
///
/// A connection is always in one of three phases:
/// - waiting for a request: no byte of an unfinished request has arrived and no answer is owed.
///   Bounded by the request timeout on a new connection (a client that connects and says nothing
///   is treated like one that sends half a request) and by the idle timeout after an answer.
///   Goes to receiving when a byte arrives.
/// - receiving a request: bytes of it have arrived, its end has not been decoded yet. Bounded by
///   the request timeout from its first byte, head and body together. Goes to answering when its
///   end is decoded (or to waiting, when its answer was already written, e.g. a 413 sent early).
/// - answering: every request received is whole and an answer is owed. Not bounded here: the
///   routes bound their own work (a pick waits at most for the probe timeout). Goes to waiting
///   when the last answer owed ends, or to receiving when a pipelined request's bytes arrive.
///
/// Why it never reschedules a timer per request: that would allocate on every pick. The handler
/// keeps one timer, which ``nextCheck(after:)`` never sets later than `min(request, idle)`
/// timeout from now; any deadline a later event can create is at least that far away, so one
/// check at that time is soon enough, and events themselves are only field updates.
struct ConnectionTimeoutState {
    /// What the handler does when its timer fires.
    enum Action: Equatable {
        /// Nothing has timed out: check again at this time.
        case checkAgain(at: NIODeadline)
        /// A request did not arrive in time and nothing has been answered to it: answer 408,
        /// then close.
        case answerRequestTimeoutAndClose
        /// A request did not arrive in time, but an answer to it (or to an earlier request) was
        /// already started, so a 408 cannot follow in order: close.
        case closeStalledRequest
        /// The connection waited for a request longer than allowed: close it without an answer.
        case closeIdle
        /// The connection was already told to close; nothing more to do.
        case none
    }

    /// Bound on a request's head and body, from its first byte.
    let requestTimeout: TimeAmount
    /// Bound on a keep-alive connection waiting for its next request.
    let idleTimeout: TimeAmount

    /// When the current request's first byte arrived; `nil` while no request is being received.
    private(set) var receivingSince: NIODeadline?
    /// When the connection started waiting for a request (opened, or its last answer ended).
    private var waitingSince: NIODeadline
    /// Whether no request has begun on this connection yet.
    private var isNew = true
    /// Request heads decoded whose answers have not ended yet.
    private var unansweredRequests = 0
    /// Whether the request being received has its head decoded (its answer is then among
    /// ``unansweredRequests``).
    private var currentHeadArrived = false
    /// Whether an answer's head has been written and its end not yet.
    private var answerInProgress = false
    /// Set once a timeout has closed the connection.
    private var finished = false

    /// The state of a connection opened at `openedAt`.
    init(requestTimeout: TimeAmount, idleTimeout: TimeAmount, openedAt: NIODeadline) {
        self.requestTimeout = requestTimeout
        self.idleTimeout = idleTimeout
        self.waitingSince = openedAt
    }

    /// Whether bytes of a request are being received.
    var isReceiving: Bool { receivingSince != nil }

    /// Bytes arrived from the client. `now` is read only when they begin a request.
    mutating func bytesArrived(at now: @autoclosure () -> NIODeadline) {
        guard receivingSince == nil else { return }
        receivingSince = now()
        isNew = false
    }

    /// A request head was decoded.
    mutating func requestHeadArrived() {
        unansweredRequests += 1
        currentHeadArrived = true
    }

    /// A request's end was decoded: it has arrived whole.
    mutating func requestEnded(at now: @autoclosure () -> NIODeadline) {
        receivingSince = nil
        currentHeadArrived = false
        if unansweredRequests == 0, !answerInProgress {
            // Answered before it had all arrived (an early 401 or 413): waiting again.
            waitingSince = now()
        }
    }

    /// A final (not 1xx) answer's head was written.
    mutating func answerStarted() {
        answerInProgress = true
    }

    /// An answer's end was written. `now` is read only when the connection starts waiting.
    mutating func answerEnded(at now: @autoclosure () -> NIODeadline) {
        answerInProgress = false
        unansweredRequests = max(0, unansweredRequests - 1)
        if unansweredRequests == 0, receivingSince == nil {
            waitingSince = now()
        }
    }

    /// When the connection times out if nothing more happens; `nil` while answering (or once
    /// closed).
    var deadline: NIODeadline? {
        if finished { return nil }
        if let receivingSince { return receivingSince + requestTimeout }
        if unansweredRequests > 0 || answerInProgress { return nil }
        return waitingSince + (isNew ? requestTimeout : idleTimeout)
    }

    /// When the handler's timer should next fire: the deadline, but never later than the
    /// shorter timeout from `now` (see the type's notes on why that is soon enough).
    func nextCheck(after now: NIODeadline) -> NIODeadline {
        let latest = now + min(requestTimeout, idleTimeout)
        guard let deadline else { return latest }
        return min(deadline, latest)
    }

    /// The timer fired at `now`: what to do.
    mutating func timerFired(at now: NIODeadline) -> Action {
        if finished { return .none }
        guard let deadline, now >= deadline else {
            return .checkAgain(at: nextCheck(after: now))
        }
        finished = true
        guard receivingSince != nil else { return .closeIdle }
        // A 408 is in order only when it answers the request being received and nothing has
        // been written for that request or any earlier one still owed.
        if !answerInProgress, unansweredRequests == (currentHeadArrived ? 1 : 0) {
            return .answerRequestTimeoutAndClose
        }
        return .closeStalledRequest
    }
}
