import CCurl

/// The curl thread's side of the prober: owns every easy handle and drives the multi handle.
///
/// Everything here runs on the one curl thread, so none of it needs a lock. It talks to the
/// rest of the program only through ``ProbeEngine/mailbox`` (taking new requests and
/// cancellations, reporting finished ids) and through continuations it resumes.
final class CurlLoop {
    private let engine: ProbeEngine
    private let multi: OpaquePointer
    private let settings: CurlSettings
    private var transfers: [UInt64: Transfer] = [:]
    private var idleHandles: [EasyHandle] = []

    /// Longest `curl_multi_poll` wait; callers wake it sooner with `curl_multi_wakeup`.
    private static let pollMilliseconds: Int32 = 1_000

    init(engine: ProbeEngine) {
        self.engine = engine
        multi = engine.multi.pointer
        settings = CurlSettings(engine.configuration)
        // Several probes to one HTTP/2 server share a connection.
        _ = ccurl_multi_setopt_long(multi, CURLMOPT_PIPELINING, Int(CURLPIPE_MULTIPLEX))
        _ = ccurl_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, settings.maxCachedConnections)
        _ = ccurl_multi_setopt_long(multi, CURLMOPT_MAX_HOST_CONNECTIONS, settings.maxConnectionsPerHost)
    }

    /// Runs until the prober shuts down, then fails whatever is still in flight and frees every
    /// easy handle.
    func run() {
        while true {
            let work = engine.mailbox.withLock { $0.takeWork() }
            if work.shutDown {
                complete(work.newRequests.map { ($0, .shutDown) })
                failAll()
                break
            }
            for id in work.cancelledIDs { cancel(id) }
            for request in work.newRequests { start(request) }
            var running: Int32 = 0
            _ = curl_multi_perform(multi, &running)
            collectFinished()
            _ = curl_multi_poll(multi, nil, 0, Self.pollMilliseconds, nil)
        }
        idleHandles.removeAll()
    }

    // MARK: - Starting and ending transfers

    private func start(_ request: ProbeRequest) {
        guard let easy = idleHandles.popLast() ?? EasyHandle(settings: settings) else {
            complete([(request, .finished(Self.localFailure("libcurl could not create a transfer")))])
            return
        }
        let transfer = Transfer(request: request, easy: easy, maxBodyBytes: settings.maxBodyBytes)
        let opaque = Unmanaged.passUnretained(transfer).toOpaque()
        // PIPEWAIT makes concurrent probes of one server wait for its first connection and share
        // it if it turns out to speak HTTP/2. Plain http never multiplexes here, so no waiting.
        let pipeWait = request.url.utf8.starts(with: "https:".utf8) || request.url.utf8.starts(with: "HTTPS:".utf8)
        guard easy.prepare(url: request.url, transfer: opaque, pipeWait: pipeWait),
            curl_multi_add_handle(multi, easy.pointer) == CURLM_OK
        else {
            let message = easy.errorMessage(for: CURLE_URL_MALFORMAT)
            recycle(easy)
            complete([(request, .finished(Self.localFailure(message)))])
            return
        }
        transfers[request.id] = transfer
    }

    /// Reads every finished transfer libcurl reports and resumes their callers.
    private func collectFinished() {
        var done: [(ProbeRequest, TransferCompletion)] = []
        var remaining: Int32 = 0
        while let message = curl_multi_info_read(multi, &remaining) {
            guard message.pointee.msg == CURLMSG_DONE, let easyPointer = message.pointee.easy_handle else { continue }
            let code = ccurl_msg_result(message)
            var privateData: UnsafeMutableRawPointer?
            _ = ccurl_easy_getinfo_pointer(easyPointer, CURLINFO_PRIVATE, &privateData)
            guard let privateData else { continue }
            let transfer = Unmanaged<Transfer>.fromOpaque(privateData).takeUnretainedValue()
            let easy = transfer.easy
            let responseCode = easy.infoLong(CURLINFO_RESPONSE_CODE)
            let result = TransferResult(
                curlCode: Int(code.rawValue),
                curlMessage: code == CURLE_OK ? "" : easy.errorMessage(for: code),
                responseCode: responseCode,
                body: transfer.body,
                bodyOverflowed: transfer.bodyOverflowed,
                redirectURL: (300...399).contains(responseCode) ? easy.infoString(CURLINFO_REDIRECT_URL) : nil,
                finishedAt: .now)
            // Removing the handle from inside the message loop is allowed; it invalidates only
            // `message`, which is not used again.
            remove(transfer)
            done.append((transfer.request, .finished(result)))
        }
        complete(done)
    }

    private func cancel(_ id: UInt64) {
        guard let transfer = transfers[id] else { return }
        remove(transfer)
        complete([(transfer.request, .cancelled)])
    }

    private func failAll() {
        let all = transfers.values.map { ($0.request, TransferCompletion.shutDown) }
        for transfer in Array(transfers.values) { remove(transfer) }
        complete(all)
    }

    private func remove(_ transfer: Transfer) {
        _ = curl_multi_remove_handle(multi, transfer.easy.pointer)
        transfers[transfer.request.id] = nil
        recycle(transfer.easy)
    }

    private func recycle(_ easy: EasyHandle) {
        if idleHandles.count < settings.maxIdleHandles { idleHandles.append(easy) }
    }

    /// Updates the shared count first, so a caller who sees its result sees the count without
    /// its transfer; then resumes, outside the lock.
    private func complete(_ finished: [(ProbeRequest, TransferCompletion)]) {
        guard !finished.isEmpty else { return }
        engine.mailbox.withLock { $0.finished(finished.map(\.0.id)) }
        for (request, completion) in finished {
            request.continuation.resume(returning: completion)
        }
    }

    /// A failure found before libcurl ran the transfer, reported like a connection failure.
    private static func localFailure(_ message: String) -> TransferResult {
        TransferResult(
            curlCode: Int(CURLE_FAILED_INIT.rawValue), curlMessage: message, responseCode: 0,
            body: [], bodyOverflowed: false, redirectURL: nil, finishedAt: .now)
    }
}
