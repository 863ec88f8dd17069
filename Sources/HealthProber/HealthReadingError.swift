/// Why a health body was refused.
public enum HealthReadingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The bytes are not a JSON object; the text says where and why.
    case invalidJSON(String)
    /// A field is missing, wrongly typed or out of range: the field's name and a line for a person.
    case invalidField(String, String)

    /// The matching probe failure reason.
    public var reason: ProbeFailureReason {
        switch self {
        case .invalidJSON: .invalidJSON
        case .invalidField(let name, _): .invalidField(name)
        }
    }

    /// One line for a person.
    public var description: String {
        switch self {
        case .invalidJSON(let text): "invalid JSON: \(text)"
        case .invalidField(_, let text): text
        }
    }
}
