import HTTPTypes
import NIOCore

/// How a pick or a release travels in a cluster: decided here while this instance leads (or
/// decides alone), forwarded to the leader otherwise, and waited on for the short moment a
/// takeover takes.
///
/// - A leader that cannot be reached is reported to ``ClusterCoordinator``, which asks the
///   database at once; the request waits (at most ``takeoverWait``) until another instance
///   leads, or this one does, and goes there.
/// - A request that was itself forwarded is never forwarded again: an instance that gets one
///   and does not lead answers 503 `not_leader` (``ClusterPathError/notLeader(leader:)``), and
///   the follower that sent it looks again.
/// - A leader that still leads after a failed forward and a takeover's wait is alive but out of
///   reach from here (a one-way or partial partition): the request is relayed through another
///   member, which routes it as its own, and so are the next ones until the leader answers a
///   question again (``ClusterCoordinator/isUnreachable(_:)``). A relayed request is never
///   relayed again.
/// - The leader's answers, errors included, are given back as they came.
public struct ClusterPath<C: Clock>: Sendable where C.Duration == Duration {
    /// Whom to ask where a request goes.
    let coordinator: ClusterCoordinator<C>
    /// Sends requests to the leader.
    let forwarder: any LeaderForwarding
    /// Counts forwards by result.
    let metrics: any ClusterMetrics
    /// The clock a forward is watched on.
    let clock: C

    /// A path through `coordinator`'s cluster.
    public init(coordinator: ClusterCoordinator<C>, forwarder: any LeaderForwarding, metrics: any ClusterMetrics, clock: C) {
        self.coordinator = coordinator
        self.forwarder = forwarder
        self.metrics = metrics
        self.clock = clock
    }

    /// The longest a request waits for a leader: the lease's ttl (a dead leader's lease
    /// lapses) plus a poll interval (a follower takes it) plus one round trip's bound.
    var takeoverWait: Duration {
        let lease = coordinator.configuration
        return lease.ttl + lease.pollInterval + lease.attemptTimeout
    }

    /// Routes at most four times (decide, forward, wait) before giving up with 503: enough for a
    /// takeover (one wait) and a leader that moved again meanwhile, short enough that a caller's
    /// timeout (2 s by default) is rarely the one that ends it.
    /// - Parameters:
    ///   - head: the request as it arrived; forwarded as it is when another instance leads.
    ///   - decide: decides here under the given lease term (`nil` alone); returns `nil` when the
    ///     lease ended while deciding (the decision undone), so it routes again.
    ///   - relay: the leader's answer as this instance's own.
    /// - Throws: ``ClusterPathError`` when no instance could decide; what `decide` throws.
    public func answer<Answer>(
        _ head: HTTPRequest, body: ByteBuffer, decide: (Int64?) async throws -> Answer?,
        relay: (ClusterForwarder.Answer) -> Answer
    ) async throws -> Answer {
        let forwarded = head.headerFields[ClusterForwarder.forwardedHeader] != nil
        let mayRelay = !forwarded && head.headerFields[ClusterForwarder.relayedHeader] == nil
        var route = coordinator.route()
        for _ in 0..<4 {
            switch route {
            case .decide(let fencing):
                if let response = try await decide(fencing) { return response }
                route = coordinator.route()
            case .forward(let leaderURL):
                if forwarded { throw ClusterPathError.notLeader(leader: leaderURL) }
                if mayRelay, coordinator.isUnreachable(leaderURL), let answer = await relayAround(leaderURL, head, body: body) {
                    return relay(answer)
                }
                switch await forward(head, body: body, to: leaderURL) {
                case .answered(let answer) where !answer.isNotLeader:
                    metrics.recordForward(result: "ok")
                    return relay(answer)
                case .answered:
                    metrics.recordForward(result: "not_leader")
                case .failed:
                    if Task.isCancelled { throw CancellationError() }
                    metrics.recordForward(result: "unreachable")
                case .leaderChanged:
                    // Another instance (or this one) decides now: go there at once.
                    metrics.recordForward(result: "leader_changed")
                    route = coordinator.route()
                    continue
                }
                coordinator.leaderUnreachable(leaderURL)
                route = await coordinator.routeAfterWaiting(atMost: takeoverWait, avoiding: leaderURL)
                if mayRelay, route == .forward(leaderURL: leaderURL) {
                    // A dead leader's lease would have lapsed and been taken by now: it is alive.
                    coordinator.leaderIsAliveButUnreachable(leaderURL)
                    if let answer = await relayAround(leaderURL, head, body: body) { return relay(answer) }
                }
            case .wait:
                if forwarded { throw ClusterPathError.notLeader(leader: nil) }
                route = await coordinator.routeAfterWaiting(atMost: takeoverWait, avoiding: nil)
            }
        }
        // The last wait may have found a decider.
        if case .decide(let fencing) = route, let response = try await decide(fencing) { return response }
        throw ClusterPathError.noLeader
    }

    /// Sends the request through each other member in turn until one gives an answer that is
    /// not its own failure to route it; `nil` when none did.
    private func relayAround(_ leaderURL: String, _ head: HTTPRequest, body: ByteBuffer) async -> ClusterForwarder.Answer? {
        let members = coordinator.peers().filter { $0 != leaderURL }
        guard !members.isEmpty else { return nil }
        for member in members {
            guard let answer = try? await forwarder.relay(head, body: body, through: member) else {
                if Task.isCancelled { return nil }
                continue
            }
            // not_leader or no_leader: that member could not route it either.
            if answer.isNotLeader { continue }
            metrics.recordForward(result: "relayed")
            return answer
        }
        metrics.recordForward(result: "relay_failed")
        return nil
    }

    /// How a forward ended.
    enum ForwardOutcome: Sendable {
        case answered(ClusterForwarder.Answer)
        case failed
        /// The lease moved to another instance while the forward waited.
        case leaderChanged
    }

    /// Forwards to `leaderURL`, unless the lease moves elsewhere first: a leader that froze
    /// (SIGSTOP, a stalled VM) accepts connections but never answers, and a forward to it would
    /// wait for its whole timeout while another instance already decides. After 20 ms the
    /// route is looked at every 10 ms; a forward still under way when another instance leads is
    /// abandoned. (The frozen leader cannot decide it later: its term is over.)
    private func forward(_ head: HTTPRequest, body: ByteBuffer, to leaderURL: String) async -> ForwardOutcome {
        let (forwarder, coordinator, clock) = (forwarder, coordinator, clock)
        return await withTaskGroup(of: ForwardOutcome?.self) { group in
            group.addTask {
                do {
                    return .answered(try await forwarder.forward(head, body: body, to: leaderURL))
                } catch {
                    return .failed
                }
            }
            group.addTask {
                try? await clock.sleep(until: clock.now.advanced(by: .milliseconds(20)), tolerance: nil)
                while !Task.isCancelled {
                    let route = coordinator.route()
                    if route != .wait, route != .forward(leaderURL: leaderURL) { return .leaderChanged }
                    try? await clock.sleep(until: clock.now.advanced(by: .milliseconds(10)), tolerance: nil)
                }
                return nil
            }
            defer { group.cancelAll() }
            while let next = await group.next() {
                if let outcome = next { return outcome }
            }
            return .failed
        }
    }
}
