/// The facts libcurl reported about one finished transfer.
struct TransferResult: Sendable, Equatable {
    /// The `CURLcode`; `0` (`CURLE_OK`) when the exchange completed.
    var curlCode: Int
    /// libcurl's one-line explanation of `curlCode` (its error buffer, or `curl_easy_strerror`).
    var curlMessage: String
    /// The HTTP status, `0` when none was received.
    var responseCode: Int
    /// The body, at most the configured cap.
    var body: [UInt8]
    /// True when the write callback aborted the transfer because the body passed the cap.
    var bodyOverflowed: Bool
    /// The `Location` of a 3xx answer, for the failure's detail.
    var redirectURL: String?
    /// When the curl thread saw the transfer end, so latency excludes task scheduling.
    var finishedAt: ContinuousClock.Instant
}
