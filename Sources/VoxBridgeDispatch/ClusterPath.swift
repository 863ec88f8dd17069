import Hummingbird
import NIOCore

/// How a pick or a release travels in a cluster: decided here while this instance leads (or
/// decides alone), forwarded to the leader otherwise, and waited on for the short moment a
/// takeover takes.
///
/// - A leader that cannot be reached is reported to ``ClusterCoordinator``, which asks the
///   database at once; the request waits (at most ``takeoverWait``) until another instance
///   leads, or this one does, and goes there.
/// - A request that was itself forwarded is never forwarded again: an instance that gets one
///   and does not lead answers 503 `not_leader`, and the follower that sent it looks again.
/// - The leader's answers, errors included, are given back as they came.
struct ClusterPath: Sendable {
    /// The cluster's parts of this instance.
    let parts: ClusterParts
    /// Counts forwards by result.
    let metrics: DispatchMetrics

    /// The longest a request waits for a leader: the lease's ttl (a dead leader's lease
    /// lapses) plus a poll interval (a follower takes it) plus one round trip's bound.
    var takeoverWait: Duration {
        let lease = parts.coordinator.configuration
        return lease.ttl + lease.pollInterval + lease.attemptTimeout
    }

    /// Routes at most four times (decide, forward, wait) before giving up with 503: enough for a
    /// takeover (one wait) and a leader that moved again meanwhile, short enough that a caller's
    /// timeout (2 s by default) is rarely the one that ends it.
    /// - Parameter decide: decides here under the given lease term (`nil` alone); returns `nil`
    ///   when the lease ended while deciding (the decision undone), so it routes again.
    func answer(_ request: Request, body: ByteBuffer, decide: (Int64?) async throws -> Response?) async throws -> Response {
        let coordinator = parts.coordinator
        let forwarded = request.headers[ClusterForwarder.forwardedHeader] != nil
        var route = coordinator.route()
        for _ in 0..<4 {
            switch route {
            case .decide(let fencing):
                if let response = try await decide(fencing) { return response }
                route = coordinator.route()
            case .forward(let leaderURL):
                if forwarded { throw Self.notLeader(leader: leaderURL) }
                switch await forward(request, body: body, to: leaderURL) {
                case .answered(let answer) where !answer.isNotLeader:
                    metrics.recordForward(result: "ok")
                    return answer.response
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
            case .wait:
                if forwarded { throw Self.notLeader(leader: nil) }
                route = await coordinator.routeAfterWaiting(atMost: takeoverWait, avoiding: nil)
            }
        }
        // The last wait may have found a decider.
        if case .decide(let fencing) = route, let response = try await decide(fencing) { return response }
        throw APIError(status: .serviceUnavailable, code: "no_leader",
                       message: "no instance of the cluster leads just now (a takeover is under way); try again")
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
    private func forward(_ request: Request, body: ByteBuffer, to leaderURL: String) async -> ForwardOutcome {
        let (forwarder, coordinator) = (parts.forwarder, parts.coordinator)
        return await withTaskGroup(of: ForwardOutcome?.self) { group in
            group.addTask {
                do {
                    return .answered(try await forwarder.forward(request, body: body, to: leaderURL))
                } catch {
                    return .failed
                }
            }
            group.addTask {
                try? await Task.sleep(for: .milliseconds(20))
                while !Task.isCancelled {
                    let route = coordinator.route()
                    if route != .wait, route != .forward(leaderURL: leaderURL) { return .leaderChanged }
                    try? await Task.sleep(for: .milliseconds(10))
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

    /// 503 `not_leader`, marked with ``ClusterForwarder/notLeaderHeader`` for the follower.
    static func notLeader(leader: String?) -> APIError {
        APIError(status: .serviceUnavailable, code: "not_leader",
                 message: "this instance does not lead the cluster" + (leader.map { "; \($0) does" } ?? ""),
                 headers: [ClusterForwarder.notLeaderHeader: leader ?? ""])
    }
}
