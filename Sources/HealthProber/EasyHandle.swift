import CCurl

/// A libcurl easy handle set up once with the prober's fixed options, reused across transfers.
///
/// Used only on the curl thread (not `Sendable`). Keeping finished handles saves re-applying a
/// dozen options per probe; connections and DNS answers live in the multi handle either way.
final class EasyHandle {
    let pointer: OpaquePointer
    /// libcurl writes its detailed one-line error message here (CURLOPT_ERRORBUFFER).
    let errorBuffer: UnsafeMutablePointer<CChar>

    /// Creates a handle with every option that does not change between probes, or `nil` when
    /// libcurl refuses one of them (a build without a required feature).
    init?(settings: CurlSettings) {
        guard let pointer = curl_easy_init() else { return nil }
        self.pointer = pointer
        let size = Int(ccurl_error_size())
        errorBuffer = .allocate(capacity: size)
        errorBuffer.initialize(repeating: 0, count: size)
        guard configure(settings) else { return nil }
    }

    deinit {
        curl_easy_cleanup(pointer)
        errorBuffer.deallocate()
    }

    /// The message libcurl left in the error buffer, or its generic text for `code`.
    func errorMessage(for code: CURLcode) -> String {
        let detailed = String(cString: errorBuffer)
        if !detailed.isEmpty { return detailed }
        return String(cString: curl_easy_strerror(code))
    }

    /// Clears per-transfer state before the handle carries a new probe.
    func prepare(url: String, transfer: UnsafeMutableRawPointer, pipeWait: Bool) -> Bool {
        errorBuffer[0] = 0
        return ccurl_easy_setopt_string(pointer, CURLOPT_URL, url) == CURLE_OK
            && ccurl_easy_setopt_pointer(pointer, CURLOPT_WRITEDATA, transfer) == CURLE_OK
            && ccurl_easy_setopt_pointer(pointer, CURLOPT_PRIVATE, transfer) == CURLE_OK
            && ccurl_easy_setopt_long(pointer, CURLOPT_PIPEWAIT, pipeWait ? 1 : 0) == CURLE_OK
    }

    /// A `long` from `curl_easy_getinfo`, `0` when unavailable.
    func infoLong(_ info: CURLINFO) -> Int {
        var value = 0
        return ccurl_easy_getinfo_long(pointer, info, &value) == CURLE_OK ? value : 0
    }

    /// A string from `curl_easy_getinfo`, `nil` when unavailable.
    func infoString(_ info: CURLINFO) -> String? {
        var value: UnsafeMutablePointer<CChar>?
        guard ccurl_easy_getinfo_string(pointer, info, &value) == CURLE_OK, let value else { return nil }
        return String(cString: value)
    }

    private func configure(_ settings: CurlSettings) -> Bool {
        let h = pointer
        var ok = true
        func check(_ code: CURLcode) { if code != CURLE_OK { ok = false } }
        // Probes run on a thread with no signal handling of its own; libcurl must not use
        // SIGALRM for DNS timeouts.
        check(ccurl_easy_setopt_long(h, CURLOPT_NOSIGNAL, 1))
        check(ccurl_easy_setopt_long(h, CURLOPT_TIMEOUT_MS, settings.timeoutMilliseconds))
        check(ccurl_easy_setopt_long(h, CURLOPT_CONNECTTIMEOUT_MS, settings.connectTimeoutMilliseconds))
        // A 3xx is reported as `redirect`, never followed.
        check(ccurl_easy_setopt_long(h, CURLOPT_FOLLOWLOCATION, 0))
        check(ccurl_easy_setopt_string(h, CURLOPT_PROTOCOLS_STR, "http,https"))
        check(ccurl_easy_setopt_string(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https"))
        check(ccurl_easy_setopt_long(h, CURLOPT_SSL_VERIFYPEER, 1))
        check(ccurl_easy_setopt_long(h, CURLOPT_SSL_VERIFYHOST, 2))
        if let caFile = settings.caFile {
            check(ccurl_easy_setopt_string(h, CURLOPT_CAINFO, caFile))
        }
        // HTTP/2 over TLS when the server offers it (ALPN), HTTP/1.1 otherwise.
        check(ccurl_easy_setopt_long(h, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2TLS))
        // Fleet servers are reached directly: an `http_proxy` in the service's environment must
        // not silently reroute health checks.
        check(ccurl_easy_setopt_string(h, CURLOPT_PROXY, ""))
        check(ccurl_easy_setopt_long(h, CURLOPT_DNS_CACHE_TIMEOUT, settings.dnsCacheTimeoutSeconds))
        check(ccurl_easy_setopt_string(h, CURLOPT_USERAGENT, settings.userAgent))
        check(ccurl_easy_setopt_slist(h, CURLOPT_HTTPHEADER, settings.headers))
        check(ccurl_easy_setopt_write_function(h, probeWriteCallback))
        check(ccurl_easy_setopt_pointer(h, CURLOPT_ERRORBUFFER, UnsafeMutableRawPointer(errorBuffer)))
        return ok
    }
}

/// libcurl's write callback: hands each chunk of the body to its ``Transfer``.
///
/// A closure that captures nothing, so it converts to a C function pointer; the transfer
/// arrives through CURLOPT_WRITEDATA. Returning anything but the chunk's size aborts the
/// transfer (CURLE_WRITE_ERROR), which is how the body cap is enforced while reading.
private let probeWriteCallback: curl_write_callback = { data, size, count, userdata in
    guard let userdata else { return 0 }
    let transfer = Unmanaged<Transfer>.fromOpaque(userdata).takeUnretainedValue()
    return transfer.receive(data, count: size &* count)
}
