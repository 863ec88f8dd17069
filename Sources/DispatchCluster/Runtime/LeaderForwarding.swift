import HTTPTypes
import NIOCore

/// Sends a request to the leader and gives back its answer: ``ClusterForwarder`` over HTTP in
/// production; the tests use one that answers, fails or never answers as they say.
public protocol LeaderForwarding: Sendable {
    /// Sends the request `head` with `body` to `leaderURL`.
    /// - Throws: when the leader cannot be reached or does not answer in time.
    func forward(_ head: HTTPRequest, body: ByteBuffer, to leaderURL: String) async throws -> ClusterForwarder.Answer

    /// Sends the request to `member`, another instance, for it to route as its own (decide, or
    /// forward to the leader once): the way around a leader this instance cannot reach.
    /// - Throws: when the member cannot be reached or does not answer in time.
    func relay(_ head: HTTPRequest, body: ByteBuffer, through member: String) async throws -> ClusterForwarder.Answer
}

extension ClusterForwarder: LeaderForwarding {}
