import Foundation

/// A `voxcore_fleet` list refused as a whole, with one ``Problem`` per bad entry.
public struct FleetListError: Error, Sendable, Equatable, CustomStringConvertible {
    /// One bad entry.
    public struct Problem: Sendable, Equatable {
        /// The entry's position in the list as given, from 0.
        public var index: Int
        /// The entry as given: the string itself, or the JSON text of a value that is not a string
        /// (cut at 256 characters, so an error never echoes a megabyte back).
        public var value: String
        /// What is wrong with it.
        public var error: FleetEntryError

        /// Creates a problem report for the entry at `index`.
        public init(index: Int, value: String, error: FleetEntryError) {
            self.index = index
            self.value = value.count > 256 ? String(value.prefix(256)) + "…" : value
            self.error = error
        }

        /// The reason text for a person.
        public var reason: String { error.reason }

        /// The compact JSON text of a decoded JSON value, for echoing a non-string entry back.
        public static func render(_ value: Any) -> String {
            guard JSONSerialization.isValidJSONObject([value]),
                let data = try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed, .sortedKeys])
            else { return String(describing: value) }
            return String(decoding: data, as: UTF8.self)
        }
    }

    /// A summary for a person.
    public var message: String
    /// The bad entries; empty when the value was not a list at all.
    public var problems: [Problem]

    /// Creates an error with a summary and the bad entries.
    public init(message: String, problems: [Problem]) {
        self.message = message
        self.problems = problems
    }

    /// The summary followed by each problem, on one line.
    public var description: String {
        guard !problems.isEmpty else { return message }
        return message + ": " + problems.map { "entry \($0.index) (\($0.value)): \($0.reason)" }.joined(separator: "; ")
    }
}
