import NIOCore
import Synchronization

/// Open server-sent event streams (the service's `GET /v1/fleet/events`), and the latest event
/// for a stream that just opened.
///
/// The event service builds each event once and hands the same bytes to every stream, so a
/// hundred open pages cost one snapshot a second, not a hundred. Each stream buffers only the
/// newest event: a slow reader skips events instead of growing memory.
///
/// Lock discipline: subscribers are added, removed and listed under the lock; events are
/// yielded to them after it is released.
public final class EventStreamHub: Sendable {
    /// Why a stream could not be opened.
    public enum Refusal: Error, Equatable {
        /// ``maximumStreams`` are open already.
        case full
        /// The service is shutting down.
        case closed
    }

    /// One open stream: its events, ended when the hub closes or the reader goes away.
    public struct Subscription: Sendable {
        /// The stream's number in the hub.
        public let id: Int
        /// The events, newest kept when the reader falls behind.
        public let events: AsyncStream<ByteBuffer>
        let continuation: AsyncStream<ByteBuffer>.Continuation

        /// Ends the stream (graceful shutdown reached the request before the hub).
        public func end() { continuation.finish() }
    }

    private struct State {
        var subscribers: [Int: AsyncStream<ByteBuffer>.Continuation] = [:]
        var nextID = 0
        var latest: ByteBuffer?
        var closed = false
    }

    /// The most streams open at once; more are refused with 503.
    public let maximumStreams: Int
    private let state = Mutex(State())
    /// The event service's wait for its next event; cancelling it publishes at once.
    private let wakeUp = Mutex<Task<Void, Never>?>(nil)

    /// A hub allowing at most `maximumStreams` open streams.
    public init(maximumStreams: Int) {
        self.maximumStreams = maximumStreams
    }

    /// Opens a stream that starts with the latest event, if any.
    public func subscribe() throws(Refusal) -> Subscription {
        let (events, continuation) = AsyncStream<ByteBuffer>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let opened: Result<(Int, ByteBuffer?), Refusal> = state.withLock { state in
            if state.closed { return .failure(.closed) }
            guard state.subscribers.count < maximumStreams else { return .failure(.full) }
            let id = state.nextID
            state.nextID += 1
            state.subscribers[id] = continuation
            return .success((id, state.latest))
        }
        switch opened {
        case .failure(let refusal):
            continuation.finish()
            throw refusal
        case .success(let (id, latest)):
            continuation.onTermination = { [weak self] _ in
                self?.state.withLock { _ = $0.subscribers.removeValue(forKey: id) }
            }
            if let latest { continuation.yield(latest) }
            return Subscription(id: id, events: events, continuation: continuation)
        }
    }

    /// The number of open streams.
    var openStreams: Int { state.withLock { $0.subscribers.count } }

    /// Sends `event` to every open stream and keeps it for streams opened later.
    ///
    /// The streams are woken `batch` at a time with `pause` between batches: waking a hundred
    /// at once would queue a hundred writes on the event loops in one burst, and the picks that
    /// arrive during it would wait behind them (measured: pick p99 doubled with 100 streams).
    public func publish(_ event: ByteBuffer, batch: Int = .max, pause: Duration = .zero) async {
        let subscribers = state.withLock { state in
            state.latest = event
            return Array(state.subscribers.values)
        }
        for (index, subscriber) in subscribers.enumerated() {
            if index > 0, index % max(batch, 1) == 0 { try? await Task.sleep(for: pause) }
            subscriber.yield(event)
        }
    }

    /// Ends every stream and refuses new ones: graceful shutdown, so that SIGTERM is not held
    /// up by pages that would otherwise stay connected for ever.
    public func close() {
        let subscribers = state.withLock { state in
            state.closed = true
            defer { state.subscribers = [:] }
            return Array(state.subscribers.values)
        }
        for subscriber in subscribers { subscriber.finish() }
    }

    /// Asks the event service for an event now (a server changed state) instead of at its next tick.
    public func nudge() {
        let sleep = wakeUp.withLock { $0 }
        sleep?.cancel()
    }

    /// Sleeps for `duration` unless ``nudge()`` comes first; used by the event service only.
    public func sleep(for duration: Duration) async {
        let sleep = Task<Void, Never> { _ = try? await Task.sleep(for: duration) }
        wakeUp.withLock { $0 = sleep }
        await withTaskCancellationHandler {
            await sleep.value
        } onCancel: {
            sleep.cancel()
        }
        wakeUp.withLock { if $0 == sleep { $0 = nil } }
    }
}
