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
                do {
                    let answer = try await parts.forwarder.forward(request, body: body, to: leaderURL)
                    guard answer.isNotLeader else {
                        metrics.recordForward(result: "ok")
                        return answer.response
                    }
                    metrics.recordForward(result: "not_leader")
                } catch {
                    if Task.isCancelled { throw error }
                    metrics.recordForward(result: "unreachable")
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

    /// 503 `not_leader`, marked with ``ClusterForwarder/notLeaderHeader`` for the follower.
    static func notLeader(leader: String?) -> APIError {
        APIError(status: .serviceUnavailable, code: "not_leader",
                 message: "this instance does not lead the cluster" + (leader.map { "; \($0) does" } ?? ""),
                 headers: [ClusterForwarder.notLeaderHeader: leader ?? ""])
    }
}
