import HTTPTypes
import NIOCore

/// Sends a request to the leader and gives back its answer: ``ClusterForwarder`` over HTTP in
/// production; the tests use one that answers, fails or never answers as they say.
public protocol LeaderForwarding: Sendable {
    /// Sends the request `head` with `body` to `leaderURL`.
    /// - Throws: when the leader cannot be reached or does not answer in time.
    func forward(_ head: HTTPRequest, body: ByteBuffer, to leaderURL: String) async throws -> ClusterForwarder.Answer
}

extension ClusterForwarder: LeaderForwarding {}
