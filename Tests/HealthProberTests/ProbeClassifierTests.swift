import CCurl
import Testing
@testable import HealthProber

/// How raw transfer facts become named outcomes, and the caller/curl-thread handover, without
/// sockets.
@Suite struct ProbeClassifierTests {
    private let start = ContinuousClock.now

    private func classify(
        code: CURLcode = CURLE_OK, status: Int = 200, body: String = "", overflow: Bool = false
    ) -> ProbeOutcome {
        let result = TransferResult(
            curlCode: Int(code.rawValue), curlMessage: "libcurl says no", responseCode: status,
            body: Array(body.utf8), bodyOverflowed: overflow, redirectURL: "http://127.0.0.1:1/elsewhere",
            finishedAt: start + .milliseconds(12))
        return ProbeClassifier.outcome(of: .finished(result), startedAt: start, now: start + .seconds(1), maxBodyBytes: 65_536)
    }

    private func reason(_ outcome: ProbeOutcome) -> ProbeFailureReason? {
        if case .failure(let failure) = outcome { return failure.reason }
        return nil
    }

    @Test func curlErrorsMapToNamedReasons() {
        #expect(reason(classify(code: CURLE_OPERATION_TIMEDOUT, status: 0)) == .timeout)
        #expect(reason(classify(code: CURLE_COULDNT_RESOLVE_HOST, status: 0)) == .dns)
        #expect(reason(classify(code: CURLE_SSL_CONNECT_ERROR, status: 0)) == .tls)
        #expect(reason(classify(code: CURLE_PEER_FAILED_VERIFICATION, status: 0)) == .tls)
        #expect(reason(classify(code: CURLE_SSL_CACERT_BADFILE, status: 0)) == .tls)
        #expect(reason(classify(code: CURLE_COULDNT_CONNECT, status: 0)) == .connect)
        #expect(reason(classify(code: CURLE_GOT_NOTHING, status: 0)) == .connect)
        #expect(reason(classify(code: CURLE_RECV_ERROR, status: 0)) == .connect)
    }

    @Test func statusAndBody() {
        #expect(reason(classify(status: 500)) == .httpStatus(500))
        #expect(reason(classify(status: 302)) == .redirect)
        #expect(reason(classify(code: CURLE_WRITE_ERROR, overflow: true)) == .bodyTooLarge)
        // A huge error page is reported by its status, not its size.
        #expect(reason(classify(code: CURLE_WRITE_ERROR, status: 503, overflow: true)) == .httpStatus(503))
        #expect(reason(classify(body: "nope")) == .invalidJSON)
        #expect(reason(classify(body: #"{"workers":1}"#)) == .invalidField("active_calls"))
    }

    @Test func successCarriesTiming() throws {
        let report = try classify(body: #"{"workers":4,"active_calls":1}"#).get()
        #expect(report.available == 3)
        #expect(report.latency == .milliseconds(12))
        #expect(report.startedAt == start)
    }

    @Test func redirectDetailNamesTarget() {
        guard case .failure(let failure) = classify(status: 302) else {
            Issue.record("expected a failure")
            return
        }
        #expect(failure.detail.contains("http://127.0.0.1:1/elsewhere"))
        #expect(failure.description.hasPrefix("redirect: "))
    }

    @Test func reasonCodes() {
        let reasons: [ProbeFailureReason] = [
            .timeout, .connect, .dns, .tls, .httpStatus(404), .redirect, .bodyTooLarge, .invalidJSON,
            .invalidField("workers"),
        ]
        #expect(reasons.map(\.code) == [
            "timeout", "connect", "dns", "tls", "http_status", "redirect", "body_too_large", "invalid_json",
            "invalid_field",
        ])
    }

    @Test func detailIsOneLine() {
        let failure = ProbeFailure(reason: .connect, detail: "a\r\nb\tc  ", latency: .zero, startedAt: start)
        #expect(failure.detail == "a b c")
    }

    @Test func healthURLKeepsPrefix() {
        #expect(HealthProber.healthURL(for: "http://127.0.0.1:9001") == "http://127.0.0.1:9001/health/fleet")
        #expect(HealthProber.healthURL(for: "https://h/voxcore") == "https://h/voxcore/health/fleet")
        #expect(HealthProber.healthURL(for: "https://h/voxcore/") == "https://h/voxcore/health/fleet")
    }

    @Test func timeoutMilliseconds() {
        #expect(ProberConfiguration.milliseconds(.milliseconds(500)) == 500)
        #expect(ProberConfiguration.milliseconds(.microseconds(1)) == 1)
        #expect(ProberConfiguration.milliseconds(.microseconds(1500)) == 2)
        #expect(ProberConfiguration.milliseconds(.seconds(2)) == 2000)
    }

    @Test func invalidConfigurationIsRefused() {
        #expect(throws: ProberSetupError.self) { try HealthProber(configuration: .init(timeout: .zero)) }
        #expect(throws: ProberSetupError.self) {
            try HealthProber(configuration: .init(extraHeaders: ["X-Token": "a\r\nHost: evil"]))
        }
        #expect(throws: ProberSetupError.self) { try HealthProber(configuration: .init(extraHeaders: ["Bad:Name": "1"])) }
    }
}
