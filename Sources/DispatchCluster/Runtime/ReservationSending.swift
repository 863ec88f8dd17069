import NIOCore

/// Sends one batch of reservation changes (``ReservationChange/encode(_:from:)``) to a member:
/// ``ClusterForwarder`` over HTTP in production, a recorder in the tests.
public protocol ReservationSending: Sendable {
    /// Sends `batch` to `member`; whether it was taken (a 2xx answer in time).
    func send(_ batch: ByteBuffer, to member: String) async -> Bool
}

extension ClusterForwarder: ReservationSending {
    /// POSTs the batch to the member's ``ReservationChange/path``.
    public func send(_ batch: ByteBuffer, to member: String) async -> Bool {
        (try? await post(ReservationChange.path, json: batch, to: member)) == true
    }
}

extension ClusterForwarder: PeerAsking {
    /// `GET /v1/cluster` on the member, with the cluster secret, bounded by 200 ms.
    public func view(of member: String) async -> PeerView? {
        guard let status = try? await clusterStatus(of: member) else { return nil }
        return PeerView(status)
    }
}
