#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// Resolves a list entry's host for HAProxy: a server added at run time is given an address,
/// never a name (HAProxy does not resolve the name of a server added through the Runtime API).
public enum AddressResolver {
    /// The host's first address (IPv4 before IPv6), or why there is none.
    public static func resolve(_ host: String) -> Result<String, ResolutionFailure> {
        if isAddress(host) { return .success(host) }
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, nil, &hints, &list)
        guard status == 0, let first = list else {
            return .failure(ResolutionFailure(description: "cannot resolve \(host): \(String(cString: gai_strerror(status)))"))
        }
        defer { freeaddrinfo(list) }
        var found: [String] = []
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let current = entry {
            var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            if getnameinfo(current.pointee.ai_addr, current.pointee.ai_addrlen, &buffer, socklen_t(buffer.count), nil, 0, NI_NUMERICHOST) == 0 {
                let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                if current.pointee.ai_family == AF_INET { return .success(text) }
                found.append(text)
            }
            entry = current.pointee.ai_next
        }
        guard let address = found.first else { return .failure(ResolutionFailure(description: "\(host) has no address")) }
        return .success(address)
    }

    /// Whether `host` is an IPv4 or IPv6 address already.
    public static func isAddress(_ host: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }

    /// Why a host has no address.
    public struct ResolutionFailure: Error, Sendable, CustomStringConvertible {
        /// The line.
        public var description: String
    }
}
