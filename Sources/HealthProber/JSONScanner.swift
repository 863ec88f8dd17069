/// A strict RFC 8259 reader that checks a whole document but keeps only a few top-level members.
///
/// Hand-written rather than Foundation's `JSONSerialization` because the health contract needs
/// what `NSNumber` blurs on Linux (`1` vs `1.0` vs `true`), and because it must never trap on any
/// bytes: every read is bounds-checked, integers are accumulated with overflow checks, and
/// nested containers are skipped with an explicit stack instead of recursion, so depth cannot
/// exhaust the thread's stack.
///
/// ``isValidDocument(_:maximumDepth:)`` is the same check for any JSON document; the service
/// runs it on request bodies before `JSONSerialization`, whose Linux parser also accepts things
/// that are not JSON (a trailing comma, for one).
public struct JSONScanner {
    /// A kept top-level member's value. Containers are validated but not kept.
    enum Member: Equatable {
        /// An integer literal; `nil` when it does not fit in `Int`.
        case integer(Int?)
        /// A number with a fraction or an exponent.
        case fractional
        case string(String)
        case bool
        case null
        case array
        case object

        /// How a person would name this kind of value in an error message.
        var kindName: String {
            switch self {
            case .integer: "an integer"
            case .fractional: "a non-integer number"
            case .string: "a string"
            case .bool: "a boolean"
            case .null: "null"
            case .array: "an array"
            case .object: "an object"
            }
        }
    }

    /// Where and why the bytes are not valid JSON.
    struct SyntaxError: Error, CustomStringConvertible {
        var message: String
        var offset: Int
        var description: String { "\(message) at byte \(offset)" }
    }

    private let bytes: [UInt8]
    private var index = 0
    /// The deepest nesting of arrays and objects accepted.
    private let maximumDepth: Int

    init(bytes: [UInt8], maximumDepth: Int = .max) {
        self.bytes = bytes
        self.maximumDepth = maximumDepth
    }

    /// Whether `bytes` is exactly one JSON value of any kind (RFC 8259, UTF-8 strings),
    /// optionally surrounded by whitespace, with arrays and objects nested at most
    /// `maximumDepth` deep.
    public static func isValidDocument(_ bytes: some Collection<UInt8>, maximumDepth: Int) -> Bool {
        var scanner = JSONScanner(bytes: Array(bytes), maximumDepth: maximumDepth)
        do {
            scanner.skipWhitespace()
            _ = try scanner.readValue()
            scanner.skipWhitespace()
            return scanner.index == scanner.bytes.count
        } catch {
            return false
        }
    }

    /// Reads a document that must be exactly one object; returns the members named in `keeping`
    /// (last occurrence wins).
    mutating func topLevelObject(keeping wanted: Set<String>) throws(SyntaxError) -> [String: Member] {
        skipWhitespace()
        guard let first = peek() else { throw fail("empty body") }
        guard first == UInt8(ascii: "{") else { throw fail("top level is not an object") }
        index += 1
        var members: [String: Member] = [:]
        skipWhitespace()
        if peek() == UInt8(ascii: "}") {
            index += 1
        } else {
            while true {
                skipWhitespace()
                guard peek() == UInt8(ascii: "\"") else { throw fail("expected a member name") }
                let key = try readString()
                skipWhitespace()
                try expect(UInt8(ascii: ":"))
                skipWhitespace()
                let value = try readValue()
                if wanted.contains(key) { members[key] = value }
                skipWhitespace()
                guard let next = peek() else { throw fail("unterminated object") }
                index += 1
                if next == UInt8(ascii: ",") { continue }
                if next == UInt8(ascii: "}") { break }
                index -= 1
                throw fail("expected , or }")
            }
        }
        skipWhitespace()
        guard index == bytes.count else { throw fail("unexpected data after the object") }
        return members
    }

    // MARK: - Values

    private mutating func readValue() throws(SyntaxError) -> Member {
        guard let byte = peek() else { throw fail("expected a value") }
        switch byte {
        case UInt8(ascii: "\""):
            return .string(try readString())
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            try skipContainer()
            return byte == UInt8(ascii: "{") ? .object : .array
        case UInt8(ascii: "t"):
            try expectLiteral("true")
            return .bool
        case UInt8(ascii: "f"):
            try expectLiteral("false")
            return .bool
        case UInt8(ascii: "n"):
            try expectLiteral("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return try readNumber()
        default:
            throw fail("unexpected character")
        }
    }

    /// Validates a nested array or object starting at `[` or `{`, any depth, without recursion.
    private mutating func skipContainer() throws(SyntaxError) {
        // true: inside an object; false: inside an array.
        var stack: [Bool] = []
        var expectingValue = true
        while true {
            skipWhitespace()
            if expectingValue {
                guard let byte = peek() else { throw fail("unterminated container") }
                if byte == UInt8(ascii: "{") || byte == UInt8(ascii: "[") {
                    guard stack.count < maximumDepth else { throw fail("nested deeper than \(maximumDepth)") }
                    index += 1
                    let isObject = byte == UInt8(ascii: "{")
                    stack.append(isObject)
                    skipWhitespace()
                    if peek() == (isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) {
                        index += 1
                        stack.removeLast()
                        expectingValue = false
                    } else if isObject {
                        try readMemberName()
                    }
                    // For an array, the loop reads its first value next.
                    if stack.isEmpty { return }
                    continue
                }
                _ = try readValue()
                expectingValue = false
                if stack.isEmpty { return }
                continue
            }
            guard let isObject = stack.last else { return }
            guard let byte = peek() else { throw fail("unterminated container") }
            index += 1
            if byte == UInt8(ascii: ",") {
                if isObject {
                    skipWhitespace()
                    try readMemberName()
                }
                expectingValue = true
            } else if byte == (isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) {
                stack.removeLast()
                if stack.isEmpty { return }
            } else {
                index -= 1
                throw fail(isObject ? "expected , or }" : "expected , or ]")
            }
        }
    }

    /// Reads `"name"` and `:` inside a skipped object.
    private mutating func readMemberName() throws(SyntaxError) {
        guard peek() == UInt8(ascii: "\"") else { throw fail("expected a member name") }
        _ = try readString()
        skipWhitespace()
        try expect(UInt8(ascii: ":"))
    }

    private mutating func readNumber() throws(SyntaxError) -> Member {
        let negative = peek() == UInt8(ascii: "-")
        if negative { index += 1 }
        guard let first = peek(), isDigit(first) else { throw fail("expected a digit") }
        // Accumulate as a negative number so that the magnitude check is exact; nil once it no
        // longer fits, but keep scanning so the syntax is still checked.
        var value: Int? = 0
        if first == UInt8(ascii: "0") {
            index += 1
            if let next = peek(), isDigit(next) { throw fail("leading zero in a number") }
        } else {
            while let digit = peek(), isDigit(digit) {
                index += 1
                if let current = value {
                    let (scaled, o1) = current.multipliedReportingOverflow(by: 10)
                    let (sum, o2) = scaled.subtractingReportingOverflow(Int(digit - UInt8(ascii: "0")))
                    value = (o1 || o2) ? nil : sum
                }
            }
        }
        var isInteger = true
        if peek() == UInt8(ascii: ".") {
            index += 1
            isInteger = false
            guard let digit = peek(), isDigit(digit) else { throw fail("expected a digit after .") }
            while let digit = peek(), isDigit(digit) { index += 1 }
        }
        if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
            index += 1
            isInteger = false
            if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { index += 1 }
            guard let digit = peek(), isDigit(digit) else { throw fail("expected a digit in the exponent") }
            while let digit = peek(), isDigit(digit) { index += 1 }
        }
        guard isInteger else { return .fractional }
        guard let negated = value else { return .integer(nil) }
        if negative { return .integer(negated) }
        // Int.min has no positive counterpart.
        return negated == Int.min ? .integer(nil) : .integer(-negated)
    }

    /// Reads a string literal starting at `"`, decoding escapes; invalid UTF-8 is an error.
    private mutating func readString() throws(SyntaxError) -> String {
        let start = index
        index += 1
        var utf8: [UInt8] = []
        while true {
            guard let byte = peek() else { throw fail("unterminated string", at: start) }
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                guard let text = String(validating: utf8, as: UTF8.self) else {
                    throw fail("string is not valid UTF-8", at: start)
                }
                return text
            case UInt8(ascii: "\\"):
                try readEscape(into: &utf8)
            case 0..<0x20:
                index -= 1
                throw fail("control character in a string")
            default:
                utf8.append(byte)
            }
        }
    }

    private mutating func readEscape(into utf8: inout [UInt8]) throws(SyntaxError) {
        guard let byte = peek() else { throw fail("unterminated escape") }
        index += 1
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(byte)
        case UInt8(ascii: "b"): utf8.append(0x08)
        case UInt8(ascii: "f"): utf8.append(0x0C)
        case UInt8(ascii: "n"): utf8.append(0x0A)
        case UInt8(ascii: "r"): utf8.append(0x0D)
        case UInt8(ascii: "t"): utf8.append(0x09)
        case UInt8(ascii: "u"):
            var scalarValue = try readHex4()
            if (0xD800...0xDBFF).contains(scalarValue) {
                // A high surrogate is only meaningful followed by an escaped low surrogate.
                if peek() == UInt8(ascii: "\\"), peek(offset: 1) == UInt8(ascii: "u") {
                    let save = index
                    index += 2
                    let low = try readHex4()
                    if (0xDC00...0xDFFF).contains(low) {
                        scalarValue = 0x10000 + ((scalarValue - 0xD800) << 10) + (low - 0xDC00)
                    } else {
                        index = save
                    }
                }
            }
            // Lone surrogates are legal JSON syntax but not Unicode: keep them as U+FFFD.
            let scalar = Unicode.Scalar(scalarValue) ?? "\u{FFFD}"
            utf8.append(contentsOf: String(Character(scalar)).utf8)
        default:
            index -= 1
            throw fail("invalid escape")
        }
    }

    private mutating func readHex4() throws(SyntaxError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let byte = peek() else { throw fail("unterminated \\u escape") }
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw fail("invalid \\u escape")
            }
            index += 1
            value = value << 4 | UInt32(digit)
        }
        return value
    }

    // MARK: - Bytes

    private func peek(offset: Int = 0) -> UInt8? {
        let position = index + offset
        return position < bytes.count ? bytes[position] : nil
    }

    private mutating func skipWhitespace() {
        while let byte = peek(), byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D {
            index += 1
        }
    }

    private mutating func expect(_ byte: UInt8) throws(SyntaxError) {
        guard peek() == byte else { throw fail("expected \(Character(Unicode.Scalar(byte)))") }
        index += 1
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(SyntaxError) {
        let start = index
        let count = literal.utf8CodeUnitCount
        for offset in 0..<count {
            let expected = literal.withUTF8Buffer { $0[offset] }
            guard peek() == expected else { throw fail("invalid literal", at: start) }
            index += 1
        }
    }

    private func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    private func fail(_ message: String, at offset: Int? = nil) -> SyntaxError {
        SyntaxError(message: message, offset: offset ?? index)
    }
}
