import Foundation

/// A JSON value built by the API for its answers, encoded with sorted keys and without escaped
/// slashes so that URLs read as written.
public enum JSONValue: Sendable, Equatable, Encodable {
    /// A string.
    case string(String)
    /// A whole number.
    case int(Int)
    /// A number with a fraction.
    case double(Double)
    /// true or false.
    case bool(Bool)
    /// null.
    case null
    /// An array.
    case array([JSONValue])
    /// An object.
    case object([String: JSONValue])

    /// Encodes the value as the JSON it stands for.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let value): try container.encode(value)
        case .int(let value): try container.encode(value)
        case .double(let value): try container.encode(value)
        case .bool(let value): try container.encode(value)
        case .null: try container.encodeNil()
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    /// The compact JSON text.
    public func encoded() -> Data {
        Self.encoder.encodeOrEmpty(self)
    }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()
}

extension JSONEncoder {
    /// Encodes a value that cannot fail to encode (no non-finite doubles are ever built).
    public func encodeOrEmpty(_ value: some Encodable) -> Data {
        (try? encode(value)) ?? Data("{}".utf8)
    }
}
