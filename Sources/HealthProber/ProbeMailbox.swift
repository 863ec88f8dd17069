/// What callers and the curl thread share, guarded by the engine's mutex: a value-type state
/// machine whose methods return what the caller must do after unlocking (resume a
/// continuation, wake the loop). No I/O happens under the lock.
///
/// A probe's id moves: *queued* (waiting for the curl thread) → *in flight* (the curl thread
/// owns a transfer) → gone (completed). Cancellation can hit any of those moments, and also
/// before the request is submitted, which is what `cancelledEarly` remembers.
struct ProbeMailbox {
    /// What ``submit(_:)`` asks the caller to do.
    enum SubmitAction {
        /// Queued: wake the curl thread.
        case wakeLoop
        /// Not queued: resume the continuation at once with this completion.
        case resume(CheckedContinuation<TransferCompletion, Never>, TransferCompletion)
    }

    /// What ``cancel(_:)`` asks the caller to do.
    enum CancelAction {
        /// The request was still queued: resume it as cancelled.
        case resume(CheckedContinuation<TransferCompletion, Never>)
        /// The curl thread owns the transfer: wake it so that it removes the transfer.
        case wakeLoop
        /// Nothing to do now (not yet submitted, or already finished).
        case none
    }

    /// The curl thread's share of work from one turn of its loop.
    struct Work {
        var newRequests: [ProbeRequest] = []
        var cancelledIDs: [UInt64] = []
        var shutDown = false
    }

    private var nextID: UInt64 = 1
    private var queued: [ProbeRequest] = []
    private var inFlight: Set<UInt64> = []
    private var cancelledInFlight: [UInt64] = []
    private var cancelledEarly: Set<UInt64> = []
    private(set) var isShutDown = false

    /// Queued plus in-flight transfers.
    var activeCount: Int { queued.count + inFlight.count }

    /// A fresh probe id.
    mutating func makeID() -> UInt64 {
        defer { nextID &+= 1 }
        return nextID
    }

    /// Hands a request to the curl thread, unless the prober is shut down or the probe was
    /// already cancelled.
    mutating func submit(_ request: ProbeRequest) -> SubmitAction {
        if isShutDown { return .resume(request.continuation, .shutDown) }
        if cancelledEarly.remove(request.id) != nil { return .resume(request.continuation, .cancelled) }
        queued.append(request)
        return .wakeLoop
    }

    /// Cancels probe `id`, wherever it is.
    mutating func cancel(_ id: UInt64) -> CancelAction {
        if let position = queued.firstIndex(where: { $0.id == id }) {
            return .resume(queued.remove(at: position).continuation)
        }
        if inFlight.contains(id) {
            cancelledInFlight.append(id)
            return .wakeLoop
        }
        if !isShutDown { cancelledEarly.insert(id) }
        return .none
    }

    /// Drops a cancellation mark that arrived after probe `id` had finished.
    mutating func forget(_ id: UInt64) {
        cancelledEarly.remove(id)
    }

    /// Called by the curl thread: takes the queued requests (now in flight) and the
    /// cancellations of in-flight transfers.
    mutating func takeWork() -> Work {
        var work = Work()
        work.shutDown = isShutDown
        work.newRequests = queued
        queued.removeAll(keepingCapacity: true)
        for request in work.newRequests { inFlight.insert(request.id) }
        work.cancelledIDs = cancelledInFlight
        cancelledInFlight.removeAll(keepingCapacity: true)
        return work
    }

    /// Called by the curl thread before it resumes the continuations of these transfers, so that
    /// a caller who sees its result also sees the count without them.
    mutating func finished(_ ids: some Sequence<UInt64>) {
        for id in ids { inFlight.remove(id) }
    }

    /// Marks the prober shut down and returns the requests the curl thread never took; the caller
    /// resumes them. Returns `nil` when it was already shut down.
    mutating func shutDown() -> [ProbeRequest]? {
        if isShutDown { return nil }
        isShutDown = true
        let pending = queued
        queued.removeAll()
        cancelledEarly.removeAll()
        return pending
    }
}
