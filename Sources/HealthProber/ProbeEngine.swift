import Synchronization

/// What the callers' side and the curl thread share: the mailbox, the multi handle (for
/// wake-ups) and the configuration.
///
/// Callers submit under the mailbox lock and then wake the loop; the loop takes work under the
/// same lock and does all I/O outside it.
final class ProbeEngine: Sendable {
    let mailbox = Mutex(ProbeMailbox())
    let multi: CurlMultiHandle
    let configuration: ProberConfiguration

    init(multi: CurlMultiHandle, configuration: ProberConfiguration) {
        self.multi = multi
        self.configuration = configuration
    }

    /// Runs one transfer of `url` on the curl thread and waits for it. Cancelling the calling
    /// task removes the transfer at once and returns `.cancelled`.
    func perform(_ url: String) async -> TransferCompletion {
        let id = mailbox.withLock { $0.makeID() }
        let completion = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<TransferCompletion, Never>) in
                let action = mailbox.withLock {
                    $0.submit(ProbeRequest(id: id, url: url, continuation: continuation))
                }
                switch action {
                case .wakeLoop: multi.wakeup()
                case .resume(let continuation, let completion): continuation.resume(returning: completion)
                }
            }
        } onCancel: {
            switch mailbox.withLock({ $0.cancel(id) }) {
            case .resume(let continuation): continuation.resume(returning: .cancelled)
            case .wakeLoop: multi.wakeup()
            case .none: break
            }
        }
        // A cancellation that raced with completion leaves a mark; drop it.
        mailbox.withLock { $0.forget(id) }
        return completion
    }

    /// Marks the engine shut down, fails the requests the loop never took and wakes the loop so
    /// that it fails the rest and exits. Returns false when it was already shut down.
    @discardableResult
    func shutDown() -> Bool {
        guard let pending = mailbox.withLock({ $0.shutDown() }) else { return false }
        for request in pending { request.continuation.resume(returning: .shutDown) }
        multi.wakeup()
        return true
    }
}
