import CCurl

/// The configuration in the form libcurl takes it, built on the curl thread and owned by it.
///
/// Owns the header list: libcurl keeps only a pointer to it, so it must outlive every easy
/// handle that uses it; ``CurlLoop`` frees the handles first.
final class CurlSettings {
    let timeoutMilliseconds: Int
    let connectTimeoutMilliseconds: Int
    let dnsCacheTimeoutSeconds: Int
    let caFile: String?
    let userAgent: String
    let maxBodyBytes: Int
    let maxIdleHandles: Int
    let maxCachedConnections: Int
    let maxConnectionsPerHost: Int
    /// `Accept` plus the configured extra headers.
    let headers: UnsafeMutablePointer<curl_slist>?

    init(_ configuration: ProberConfiguration) {
        timeoutMilliseconds = ProberConfiguration.milliseconds(configuration.timeout)
        connectTimeoutMilliseconds = ProberConfiguration.milliseconds(
            configuration.connectTimeout ?? configuration.timeout)
        let dnsSeconds = configuration.dnsCacheTimeout.components.seconds
        dnsCacheTimeoutSeconds = Int(clamping: dnsSeconds)
        caFile = configuration.caFile
        userAgent = configuration.userAgent
        maxBodyBytes = configuration.maxBodyBytes
        maxIdleHandles = configuration.maxIdleHandles
        maxCachedConnections = configuration.maxCachedConnections
        maxConnectionsPerHost = configuration.maxConnectionsPerHost
        var list: UnsafeMutablePointer<curl_slist>? = curl_slist_append(nil, "Accept: application/json")
        // Sorted so that every probe sends its headers in the same order.
        for (name, value) in configuration.extraHeaders.sorted(by: { $0.key < $1.key }) {
            // "Name:" with nothing after it would make libcurl *remove* the header; "Name;"
            // sends it empty.
            let line = value.isEmpty ? "\(name);" : "\(name): \(value)"
            if let appended = curl_slist_append(list, line) { list = appended }
        }
        headers = list
    }

    deinit {
        curl_slist_free_all(headers)
    }
}
