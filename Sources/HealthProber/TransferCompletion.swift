/// How one transfer ended on the curl thread, handed back to the probing task.
///
/// Carries raw facts only; ``ProbeClassifier`` turns them into a ``ProbeOutcome`` in the
/// caller's task, so that parsing never runs on (and never delays) the curl thread.
enum TransferCompletion: Sendable, Equatable {
    /// libcurl finished the transfer, successfully or not.
    case finished(TransferResult)
    /// The calling task was cancelled; the transfer has been removed.
    case cancelled
    /// The prober shut down before the transfer finished.
    case shutDown
}
