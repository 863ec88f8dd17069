/// One probe handed from a caller to the curl thread.
struct ProbeRequest: Sendable {
    /// Unique within one prober; used to find the transfer again when its task is cancelled.
    var id: UInt64
    /// The full URL to fetch.
    var url: String
    /// Resumed exactly once: by the curl thread when the transfer ends, or by whoever removes
    /// the request from the queue (cancellation, shutdown).
    var continuation: CheckedContinuation<TransferCompletion, Never>
}
