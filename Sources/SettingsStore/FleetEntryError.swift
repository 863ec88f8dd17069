/// Why one entry of the `voxcore_fleet` list was refused. ``reason`` is the text a person reads
/// in the API's `details` and the CLI's error line.
public enum FleetEntryError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Not of the form `http://host…` or `https://host…`.
    case notAbsoluteHTTPURL
    /// A user name or password before the host.
    case hasUserInfo
    /// A `?query` part.
    case hasQuery
    /// A `#fragment` part.
    case hasFragment
    /// More than ``FleetEntry/maximumLength`` characters (the count is attached).
    case tooLong(Int)
    /// No host between `://` and the path.
    case missingHost
    /// A host with characters that no host name or IP address has.
    case invalidHost
    /// A port that is not a number from 1 to 65535.
    case invalidPort
    /// Whitespace, a control character or another character that has no place in a URL.
    case invalidCharacter
    /// Not a JSON string.
    case notAString
    /// The same server as an earlier entry, once both are normalised (that entry's index).
    case duplicate(of: Int)
    /// Past the list's maximum length.
    case tooManyEntries(maximum: Int)

    /// A sentence fragment for a person: what is wrong with the entry.
    public var reason: String {
        switch self {
        case .notAbsoluteHTTPURL: "not an absolute http or https URL"
        case .hasUserInfo: "a user name or password is not allowed in the URL"
        case .hasQuery: "a query (?...) is not allowed"
        case .hasFragment: "a fragment (#...) is not allowed"
        case .tooLong(let count): "longer than \(FleetEntry.maximumLength) characters (\(count))"
        case .missingHost: "the URL has no host"
        case .invalidHost: "the host is not a valid host name or IP address"
        case .invalidPort: "the port is not a number from 1 to 65535"
        case .invalidCharacter: "the URL contains a space, a control character or another character not allowed in a URL"
        case .notAString: "not a string"
        case .duplicate(let index): "a duplicate of entry \(index) after normalisation"
        case .tooManyEntries(let maximum): "more than \(maximum) entries"
        }
    }

    /// The same as ``reason``.
    public var description: String { reason }
}
