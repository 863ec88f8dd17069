import CCurl

/// One probe in flight on the curl thread: its request, its easy handle and the body read so far.
///
/// Curl thread only. libcurl holds an unretained pointer to it (CURLOPT_WRITEDATA and
/// CURLOPT_PRIVATE); ``CurlLoop``'s table of transfers keeps it alive until the easy handle has
/// been removed from the multi handle.
final class Transfer {
    let request: ProbeRequest
    let easy: EasyHandle
    private let maxBodyBytes: Int
    private(set) var body: [UInt8] = []
    /// Bytes of a non-200 answer that were read and dropped.
    private var discardedBytes = 0
    /// The status line's code, read once at the first chunk of the body.
    private var responseCode: Int?
    private(set) var bodyOverflowed = false

    init(request: ProbeRequest, easy: EasyHandle, maxBodyBytes: Int) {
        self.request = request
        self.easy = easy
        self.maxBodyBytes = maxBodyBytes
    }

    /// Takes one chunk of the body; returns `count` to go on, anything else to abort.
    func receive(_ data: UnsafeMutablePointer<CChar>?, count: Int) -> Int {
        if count == 0 { return 0 }
        let code = responseCode ?? easy.infoLong(CURLINFO_RESPONSE_CODE)
        responseCode = code
        if code != 200 {
            // Only a 200's body is read; others are drained (so the connection stays reusable)
            // but still bounded, and reported by their status.
            discardedBytes += count
            if discardedBytes > maxBodyBytes {
                bodyOverflowed = true
                return 0
            }
            return count
        }
        guard body.count + count <= maxBodyBytes, let data else {
            bodyOverflowed = true
            return 0
        }
        body.append(contentsOf: UnsafeRawBufferPointer(start: data, count: count))
        return count
    }
}
