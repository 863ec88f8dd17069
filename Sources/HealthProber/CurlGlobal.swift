import CCurl

/// `curl_global_init` must run once before any other libcurl call and is not guaranteed
/// thread-safe; a lazily initialised global is (the runtime runs it once, under a lock).
enum CurlGlobal {
    private static let initialized: Bool = {
        curl_global_init(Int(CURL_GLOBAL_ALL)) == CURLE_OK
    }()

    /// Runs `curl_global_init` the first time it is called.
    @discardableResult
    static func ensureInitialized() -> Bool { initialized }
}
