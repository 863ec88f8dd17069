/// The `voxcore_fleet` setting: the ordered list of fleet server base URLs, every entry valid,
/// normalised and unique.
public struct FleetList: Sendable, Equatable {
    /// The most entries a list may hold.
    public static let maximumCount = 256

    /// The entries, in the order the operator gave them.
    public let entries: [FleetEntry]

    /// The entries' normalised URLs.
    public var urls: [String] { entries.map(\.url) }

    /// An empty list, the value of a new database.
    public static let empty = FleetList(trustedEntries: [])

    /// Validates and normalises `values`, refusing the whole list if any entry is bad.
    /// - Throws: ``FleetListError`` naming every bad entry with its index, value and reason.
    public init(validating values: [String]) throws(FleetListError) {
        try self.init(validatingElements: values.map { $0 as Any })
    }

    /// Validates a decoded JSON value (from `JSONSerialization`) that should be an array of strings.
    /// - Throws: ``FleetListError`` when it is not an array, or naming every bad element.
    public init(validatingJSONValue value: Any) throws(FleetListError) {
        guard let array = value as? [Any] else {
            throw FleetListError(message: "voxcore_fleet must be an array of strings", problems: [])
        }
        try self.init(validatingElements: array)
    }

    init(trustedEntries: [FleetEntry]) {
        self.entries = trustedEntries
    }

    private init(validatingElements elements: [Any]) throws(FleetListError) {
        var problems: [FleetListError.Problem] = []
        var entries: [FleetEntry] = []
        entries.reserveCapacity(min(elements.count, Self.maximumCount))
        var firstIndexOfURL: [String: Int] = [:]

        for (index, element) in elements.enumerated() {
            guard let text = element as? String else {
                problems.append(.init(index: index, value: FleetListError.Problem.render(element), error: .notAString))
                continue
            }
            if index >= Self.maximumCount {
                problems.append(.init(index: index, value: text, error: .tooManyEntries(maximum: Self.maximumCount)))
                continue
            }
            do {
                let entry = try FleetEntry(text)
                if let first = firstIndexOfURL[entry.url] {
                    problems.append(.init(index: index, value: text, error: .duplicate(of: first)))
                } else {
                    firstIndexOfURL[entry.url] = index
                    entries.append(entry)
                }
            } catch {
                problems.append(.init(index: index, value: text, error: error))
            }
        }
        guard problems.isEmpty else {
            let count = problems.count
            let message = elements.count > Self.maximumCount
                ? "the list has \(elements.count) entries; at most \(Self.maximumCount) are allowed"
                : "\(count) \(count == 1 ? "entry is" : "entries are") not acceptable"
            throw FleetListError(message: message, problems: problems)
        }
        self.entries = entries
    }

    /// A copy with `entry` appended, or `nil` when it is already listed.
    /// - Throws: ``FleetListError`` when the list is already at ``maximumCount``.
    public func adding(_ entry: FleetEntry) throws(FleetListError) -> FleetList? {
        guard !entries.contains(entry) else { return nil }
        guard entries.count < Self.maximumCount else {
            throw FleetListError(
                message: "the list already has \(Self.maximumCount) entries, the most allowed",
                problems: [.init(index: entries.count, value: entry.url, error: .tooManyEntries(maximum: Self.maximumCount))]
            )
        }
        return FleetList(trustedEntries: entries + [entry])
    }

    /// A copy without `entry`, or `nil` when it is not listed.
    public func removing(_ entry: FleetEntry) -> FleetList? {
        guard entries.contains(entry) else { return nil }
        return FleetList(trustedEntries: entries.filter { $0 != entry })
    }
}
