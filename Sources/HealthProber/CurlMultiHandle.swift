import CCurl

/// Owns one libcurl multi handle for its whole life and exposes the one call libcurl documents
/// as safe from any thread, `curl_multi_wakeup`.
///
/// `@unchecked Sendable` because a `CURLM *` is a raw pointer. What keeps it sound:
/// - ``wakeup()`` may be called from any thread (libcurl: "thread-safe");
/// - ``pointer`` is used only by the curl thread (``CurlLoop``), which is the only thread that
///   ever adds, removes or drives transfers;
/// - the handle is freed in `deinit`, when no thread can hold a reference any more, so a late
///   `wakeup()` can never touch freed memory.
final class CurlMultiHandle: @unchecked Sendable {
    /// The handle; curl thread only.
    let pointer: OpaquePointer

    /// Creates a multi handle, or `nil` when libcurl cannot.
    init?() {
        CurlGlobal.ensureInitialized()
        guard let pointer = curl_multi_init() else { return nil }
        self.pointer = pointer
    }

    /// Makes a `curl_multi_poll` on the curl thread return now. Any thread.
    func wakeup() {
        _ = curl_multi_wakeup(pointer)
    }

    deinit {
        curl_multi_cleanup(pointer)
    }
}
