import DispatchHTTPServer
import Foundation
import Yams

/// `docs/openapi.yaml`, loaded for the tests, with a checker for the subset of JSON Schema the
/// file uses: `$ref`, `allOf`, `oneOf`, `type`, `nullable`, `required`, `properties`, `items`,
/// `enum`, `minimum`, `minLength`, `maxItems`, `pattern` and `format: date-time`.
struct OpenAPISpec: @unchecked Sendable {
    /// The decoded document (plain YAML values: dictionaries, arrays, strings, numbers, booleans).
    let document: [String: Any]

    /// The file beside the package: `docs/openapi.yaml`.
    static let path: String = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("docs/openapi.yaml").path

    static func load() throws -> OpenAPISpec {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        guard let document = try Yams.load(yaml: text) as? [String: Any] else {
            throw SpecError("\(path) is not a YAML mapping")
        }
        return OpenAPISpec(document: document)
    }

    struct SpecError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    /// Every documented (method, path, status), e.g. `("PUT", "/v1/settings/voxcore_fleet", 412)`.
    var documentedResponses: Set<String> {
        var all = Set<String>()
        for (path, item) in (document["paths"] as? [String: Any]) ?? [:] {
            for (method, operation) in (item as? [String: Any]) ?? [:] {
                for status in ((operation as? [String: Any])?["responses"] as? [String: Any] ?? [:]).keys {
                    all.insert(Self.key(method: method, path: path, status: Int(status) ?? 0))
                }
            }
        }
        return all
    }

    static func key(method: String, path: String, status: Int) -> String {
        "\(method.uppercased()) \(path) \(status)"
    }

    /// Checks one answer: its status is documented for the operation, its content type is the
    /// documented one, its required headers are present and match, and its body matches the
    /// schema. Returns the problems found, empty when it conforms.
    func problems(method: String, path: String, status: Int, headers: [String: String], body: Data) -> [String] {
        let where_ = "\(method) \(path) → \(status)"
        guard let item = (document["paths"] as? [String: Any])?[path] as? [String: Any] else {
            return ["\(path) is not in the spec"]
        }
        guard let operation = item[method.lowercased()] as? [String: Any] else {
            return ["\(method) \(path) is not in the spec"]
        }
        guard var response = (operation["responses"] as? [String: Any])?[String(status)] as? [String: Any] else {
            return ["\(where_): status \(status) is not documented"]
        }
        if let reference = response["$ref"] as? String {
            guard let resolved = resolve(reference) else { return ["\(where_): unresolved \(reference)"] }
            response = resolved
        }

        var problems: [String] = []
        let lowerHeaders = Dictionary(headers.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { $1 })
        for (name, declared) in (response["headers"] as? [String: Any]) ?? [:] {
            var header = declared as? [String: Any] ?? [:]
            if let reference = header["$ref"] as? String {
                guard let resolved = resolve(reference) else {
                    problems.append("\(where_): header \(name): unresolved \(reference)")
                    continue
                }
                header = resolved
            }
            guard let value = lowerHeaders[name.lowercased()] else {
                if header["required"] as? Bool == true { problems.append("\(where_): header \(name) is missing") }
                continue
            }
            if let schema = header["schema"] as? [String: Any] {
                problems += check(.string(value), schema, at: "\(where_) header \(name)")
            }
        }

        guard let content = response["content"] as? [String: Any], let (mediaType, media) = content.first else {
            if !body.isEmpty { problems.append("\(where_): a body where none is documented") }
            return problems
        }
        let contentType = lowerHeaders["content-type"]?.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) }
        if contentType != mediaType {
            problems.append("\(where_): Content-Type \(lowerHeaders["content-type"] ?? "none"), documented \(mediaType)")
        }
        guard let schema = (media as? [String: Any])?["schema"] as? [String: Any] else { return problems }
        if mediaType == "application/json" {
            guard let value = try? JSONDecoder().decode(JSONValue.self, from: body) else {
                return problems + ["\(where_): the body is not JSON: \(String(decoding: body.prefix(200), as: UTF8.self))"]
            }
            problems += check(value, schema, at: where_)
        } else {
            problems += check(.string(String(decoding: body, as: UTF8.self)), schema, at: where_)
        }
        return problems
    }

    // MARK: - Schemas

    /// A JSON value as decoded, keeping integers, numbers and booleans apart.
    indirect enum JSONValue: Decodable {
        case null, bool(Bool), integer(Int), number(Double), string(String), array([JSONValue]), object([String: JSONValue])

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if container.decodeNil() { self = .null }
            else if let value = try? container.decode(Bool.self) { self = .bool(value) }
            else if let value = try? container.decode(Int.self) { self = .integer(value) }
            else if let value = try? container.decode(Double.self) { self = .number(value) }
            else if let value = try? container.decode(String.self) { self = .string(value) }
            else if let value = try? container.decode([JSONValue].self) { self = .array(value) }
            else { self = .object(try container.decode([String: JSONValue].self)) }
        }

        var typeName: String {
            switch self {
            case .null: "null"
            case .bool: "boolean"
            case .integer: "integer"
            case .number: "number"
            case .string: "string"
            case .array: "array"
            case .object: "object"
            }
        }
    }

    /// The object a local `#/…` reference points at, or `nil` when it points at nothing.
    func resolve(_ reference: String) -> [String: Any]? {
        var node: Any? = document
        for part in reference.dropFirst(2).split(separator: "/") {
            node = (node as? [String: Any])?[String(part)]
        }
        return node as? [String: Any]
    }

    /// The problems of `value` against `schema`, each naming where it is.
    func check(_ value: JSONValue, _ schema: [String: Any], at location: String) -> [String] {
        if let reference = schema["$ref"] as? String {
            guard let resolved = resolve(reference) else { return ["\(location): unresolved \(reference)"] }
            return check(value, resolved, at: location)
        }
        if let parts = schema["allOf"] as? [[String: Any]] {
            return parts.flatMap { check(value, $0, at: location) }
        }
        if let choices = schema["oneOf"] as? [[String: Any]] {
            let matching = choices.filter { check(value, $0, at: location).isEmpty }.count
            return matching == 1 ? [] : ["\(location): matches \(matching) of the oneOf choices, not exactly one"]
        }
        if case .null = value {
            return schema["nullable"] as? Bool == true ? [] : ["\(location): null where it is not nullable"]
        }
        var problems: [String] = []
        if let type = schema["type"] as? String {
            let fits = value.typeName == type || (type == "number" && value.typeName == "integer")
            if !fits { return ["\(location): \(value.typeName), expected \(type)"] }
        }
        if let allowed = schema["enum"] as? [Any], !allowed.contains(where: { Self.equal(value, $0) }) {
            problems.append("\(location): \(value) is not one of \(allowed)")
        }
        switch value {
        case .object(let members):
            for name in (schema["required"] as? [String]) ?? [] where members[name] == nil {
                problems.append("\(location): required member \(name) is missing")
            }
            for (name, memberSchema) in (schema["properties"] as? [String: Any]) ?? [:] {
                if let member = members[name], let memberSchema = memberSchema as? [String: Any] {
                    problems += check(member, memberSchema, at: "\(location).\(name)")
                }
            }
        case .array(let elements):
            if let maximum = schema["maxItems"] as? Int, elements.count > maximum {
                problems.append("\(location): \(elements.count) items, at most \(maximum)")
            }
            if let items = schema["items"] as? [String: Any] {
                for (index, element) in elements.enumerated() {
                    problems += check(element, items, at: "\(location)[\(index)]")
                }
            }
        case .string(let text):
            if let minimum = schema["minLength"] as? Int, text.count < minimum {
                problems.append("\(location): shorter than \(minimum)")
            }
            if let pattern = schema["pattern"] as? String, text.range(of: pattern, options: .regularExpression) == nil {
                problems.append("\(location): \(text) does not match \(pattern)")
            }
            if schema["format"] as? String == "date-time",
                (try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: text.contains(".")))) == nil {
                problems.append("\(location): \(text) is not an RFC 3339 date-time")
            }
        case .integer(let number):
            if let minimum = schema["minimum"] as? Int, number < minimum {
                problems.append("\(location): \(number) is below \(minimum)")
            }
        case .number(let number):
            if let minimum = schema["minimum"] as? Int, number < Double(minimum) {
                problems.append("\(location): \(number) is below \(minimum)")
            }
        default:
            break
        }
        return problems
    }

    private static func equal(_ value: JSONValue, _ yaml: Any) -> Bool {
        switch value {
        case .string(let text): (yaml as? String) == text
        case .bool(let flag): (yaml as? Bool) == flag
        case .integer(let number): (yaml as? Int) == number
        default: false
        }
    }
}
