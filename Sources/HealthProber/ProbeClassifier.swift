import CCurl

/// Turns a finished transfer into the outcome that docs/API.md ("What the service reads from a
/// fleet server") defines. Pure: tested without sockets.
enum ProbeClassifier {
    /// The outcome of one probe that started at `startedAt`; `now` is used only when the curl
    /// thread did not record an end time (cancellation and shutdown).
    static func outcome(
        of completion: TransferCompletion,
        startedAt: ContinuousClock.Instant,
        now: ContinuousClock.Instant,
        maxBodyBytes: Int
    ) -> ProbeOutcome {
        let result: TransferResult
        switch completion {
        case .cancelled:
            return .failure(ProbeFailure(
                reason: .cancelled, detail: "probe cancelled", latency: now - startedAt, startedAt: startedAt))
        case .shutDown:
            return .failure(ProbeFailure(
                reason: .cancelled, detail: "prober shut down", latency: now - startedAt, startedAt: startedAt))
        case .finished(let finished):
            result = finished
        }
        let latency = max(.zero, result.finishedAt - startedAt)
        func failure(_ reason: ProbeFailureReason, _ detail: String) -> ProbeOutcome {
            .failure(ProbeFailure(reason: reason, detail: detail, latency: latency, startedAt: startedAt))
        }

        if result.bodyOverflowed {
            // A non-200 answer's body is discarded, so only its size aborts it: the status is the
            // more useful reason then.
            if result.responseCode != 200 && result.responseCode != 0 {
                return failure(statusReason(result.responseCode), statusDetail(result))
            }
            return failure(.bodyTooLarge, "body is larger than \(maxBodyBytes) bytes")
        }
        if result.curlCode != Int(CURLE_OK.rawValue) {
            return failure(reason(forCurlCode: result.curlCode), result.curlMessage)
        }
        if result.responseCode != 200 {
            return failure(statusReason(result.responseCode), statusDetail(result))
        }
        do {
            let reading = try HealthReading.parse(result.body)
            return .success(HealthReport(reading: reading, latency: latency, startedAt: startedAt))
        } catch {
            return failure(error.reason, error.description)
        }
    }

    /// Which named reason a libcurl error belongs to. Anything that is not a timeout, a name
    /// lookup or TLS is a failure to get an answer over the connection, so `connect`.
    static func reason(forCurlCode code: Int) -> ProbeFailureReason {
        switch UInt32(truncatingIfNeeded: code) {
        case CURLE_OPERATION_TIMEDOUT.rawValue:
            return .timeout
        case CURLE_COULDNT_RESOLVE_HOST.rawValue, CURLE_COULDNT_RESOLVE_PROXY.rawValue:
            return .dns
        case CURLE_SSL_CONNECT_ERROR.rawValue, CURLE_PEER_FAILED_VERIFICATION.rawValue,
            CURLE_SSL_CERTPROBLEM.rawValue, CURLE_SSL_CIPHER.rawValue,
            CURLE_SSL_ENGINE_NOTFOUND.rawValue, CURLE_SSL_ENGINE_SETFAILED.rawValue,
            CURLE_SSL_ENGINE_INITFAILED.rawValue, CURLE_SSL_CACERT_BADFILE.rawValue,
            CURLE_SSL_SHUTDOWN_FAILED.rawValue, CURLE_SSL_CRL_BADFILE.rawValue,
            CURLE_SSL_ISSUER_ERROR.rawValue, CURLE_SSL_PINNEDPUBKEYNOTMATCH.rawValue,
            CURLE_SSL_INVALIDCERTSTATUS.rawValue, CURLE_SSL_CLIENTCERT.rawValue,
            CURLE_USE_SSL_FAILED.rawValue:
            return .tls
        default:
            return .connect
        }
    }

    private static func statusReason(_ code: Int) -> ProbeFailureReason {
        (300...399).contains(code) ? .redirect : .httpStatus(code)
    }

    private static func statusDetail(_ result: TransferResult) -> String {
        if (300...399).contains(result.responseCode) {
            let target = result.redirectURL.map { " to \($0)" } ?? ""
            return "HTTP \(result.responseCode) redirect\(target), not followed"
        }
        return "HTTP \(result.responseCode)"
    }
}
