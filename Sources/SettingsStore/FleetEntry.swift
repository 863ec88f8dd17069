/// One validated, normalised entry of the `voxcore_fleet` list: the base URL of a VoxCore fleet
/// server, such as `https://fleet-2.example.com` or `http://127.0.0.1:9001/voxcore`.
///
/// Normalisation lower-cases the scheme and the host, drops the scheme's default port and any
/// trailing `/`, and keeps the path as written, so two spellings of one server compare equal.
public struct FleetEntry: Sendable, Hashable, CustomStringConvertible {
    /// The longest entry accepted, counted in characters of the entry as written.
    public static let maximumLength = 2048

    /// The normalised URL.
    public let url: String

    /// Validates and normalises `text`.
    /// - Throws: ``FleetEntryError`` with the first reason the entry is not acceptable.
    public init(_ text: String) throws(FleetEntryError) {
        self.url = try Self.normalise(text)
    }

    /// The normalised URL.
    public var description: String { url }

    // MARK: - Parsing

    private static func normalise(_ text: String) throws(FleetEntryError) -> String {
        if text.count > maximumLength { throw .tooLong(text.count) }
        if text.isEmpty { throw .notAbsoluteHTTPURL }
        // Whitespace and control characters are never part of a URL; rejecting them here keeps
        // them out of logs, metrics labels and curl.
        if text.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F }) {
            throw .invalidCharacter
        }
        guard let schemeEnd = text.range(of: "://") else { throw .notAbsoluteHTTPURL }
        let scheme = text[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "http" || scheme == "https" else { throw .notAbsoluteHTTPURL }

        let rest = text[schemeEnd.upperBound...]
        if rest.contains("#") { throw .hasFragment }
        if rest.contains("?") { throw .hasQuery }

        let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        var path = String(rest[authorityEnd...])
        if authority.contains("@") { throw .hasUserInfo }

        let (host, port) = try splitHostAndPort(authority)
        let defaultPort = scheme == "https" ? 443 : 80

        guard path.unicodeScalars.allSatisfy(isPathCharacter) else { throw .invalidCharacter }
        while path.hasSuffix("/") { path.removeLast() }

        var normalised = scheme + "://" + host
        if let port, port != defaultPort { normalised += ":" + String(port) }
        normalised += path
        return normalised
    }

    /// Splits `host[:port]` or `[ipv6][:port]`, lower-casing the host and checking the port.
    private static func splitHostAndPort(_ authority: Substring) throws(FleetEntryError) -> (String, Int?) {
        var host: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw .invalidHost }
            host = authority[...close]
            let afterHost = authority[authority.index(after: close)...]
            if !afterHost.isEmpty {
                guard afterHost.hasPrefix(":") else { throw .invalidHost }
                portText = afterHost.dropFirst()
            }
            let inside = host.dropFirst().dropLast()
            guard !inside.isEmpty, inside.unicodeScalars.allSatisfy(isIPv6Character)
            else { throw .invalidHost }
        } else {
            if let colon = authority.lastIndex(of: ":") {
                host = authority[..<colon]
                portText = authority[authority.index(after: colon)...]
            } else {
                host = authority
            }
            guard !host.isEmpty else { throw .missingHost }
            guard host.unicodeScalars.allSatisfy(isHostCharacter) else { throw .invalidHost }
            guard !host.hasPrefix("."), !host.hasPrefix("-"), !host.contains("..") else { throw .invalidHost }
        }
        var port: Int?
        if let portText {
            guard !portText.isEmpty, portText.count <= 5, portText.allSatisfy({ $0.isASCII && $0.isWholeNumber }),
                let value = Int(portText), (1...65_535).contains(value)
            else { throw .invalidPort }
            port = value
        }
        return (host.lowercased(), port)
    }

    private static func isIPv6Character(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "a"..."f", "A"..."F", "0"..."9", ":", ".": true
        default: false
        }
    }

    private static func isHostCharacter(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "a"..."z", "A"..."Z", "0"..."9", "-", ".", "_": true
        default: false
        }
    }

    /// RFC 3986 `pchar` plus `/`: unreserved, percent-encoded, sub-delims, `:` and `@`.
    private static func isPathCharacter(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "a"..."z", "A"..."Z", "0"..."9", "-", ".", "_", "~", "%", "!", "$", "&", "'", "(", ")",
            "*", "+", ",", ";", "=", ":", "@", "/":
            true
        default: false
        }
    }
}

