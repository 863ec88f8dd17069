/// An operator's change of one server's state, checked: what every store writes the same way.
public struct FleetAdminChange: Sendable, Equatable {
    /// The normalised list entry.
    public var url: String
    /// The new state.
    public var state: FleetAdminState
    /// Why, at most ``maximumReasonLength`` characters (Unicode scalars, as JSON Schema counts
    /// them); `nil` when not given.
    public var reason: String?
    /// Who, at most ``maximumByLength`` characters.
    public var by: String

    /// The longest reason kept.
    public static let maximumReasonLength = 200
    /// The longest operator name kept.
    public static let maximumByLength = 100

    /// A change, checked: the URL must be a fleet entry (normalised here), the state one of
    /// ``FleetAdminState``, the reason and the name printable text within their lengths.
    /// - Throws: ``FleetAdminChangeError`` saying which part is wrong.
    public init(url: String, state: String, reason: String?, by: String) throws(FleetAdminChangeError) {
        do {
            self.url = try FleetEntry(url).url
        } catch {
            throw .invalidURL(error.reason)
        }
        guard let state = FleetAdminState(rawValue: state) else { throw .invalidState(String(state.prefix(64))) }
        self.state = state
        let reason = reason.flatMap { $0.isEmpty ? nil : $0 }
        if let reason {
            let length = reason.unicodeScalars.count
            guard length <= Self.maximumReasonLength else { throw .reasonTooLong(length) }
            guard Self.isPrintable(reason) else { throw .unprintable("reason") }
        }
        self.reason = reason
        guard !by.isEmpty, by.unicodeScalars.count <= Self.maximumByLength else { throw .invalidBy }
        guard Self.isPrintable(by) else { throw .unprintable("by") }
        self.by = by
    }

    /// No control characters (C0, DEL, C1), no line or paragraph separators and no bidirectional
    /// overrides: a reason is shown on a page, in logs and in a terminal, as one line that reads
    /// as written.
    private static func isPrintable(_ text: String) -> Bool {
        !text.unicodeScalars.contains { scalar in
            let value = scalar.value
            return value < 0x20 || (0x7F...0x9F).contains(value) || value == 0x2028 || value == 0x2029
                || (0x202A...0x202E).contains(value) || (0x2066...0x2069).contains(value)
        }
    }
}

/// Why an operator's change was refused; nothing was stored.
public enum FleetAdminChangeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The URL is not a fleet entry, and why.
    case invalidURL(String)
    /// Not one of `active`, `draining`, `maintenance`.
    case invalidState(String)
    /// The reason is longer than 200 characters.
    case reasonTooLong(Int)
    /// The operator name is empty or longer than 100 characters.
    case invalidBy
    /// The named field holds control characters.
    case unprintable(String)

    /// One sentence for a person.
    public var description: String {
        switch self {
        case .invalidURL(let why): "url is not a fleet server URL: \(why)"
        case .invalidState(let state): "state \"\(state)\" is not one of active, draining, maintenance"
        case .reasonTooLong(let count): "reason is \(count) characters long; at most \(FleetAdminChange.maximumReasonLength)"
        case .invalidBy: "by must be 1 to \(FleetAdminChange.maximumByLength) characters"
        case .unprintable(let field): "\(field) must not hold control characters"
        }
    }
}
