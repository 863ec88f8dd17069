/// A strict RFC 8259 syntax check, run before `JSONSerialization`, whose parser on Linux also
/// accepts things that are not JSON (a trailing comma, for one). Iterative, so that a body of a
/// hundred thousand `[` cannot exhaust the stack, and bounded in depth.
enum StrictJSON {
    /// The deepest nesting of arrays and objects accepted.
    static let maximumDepth = 64

    /// Whether `bytes` is exactly one JSON value, optionally surrounded by whitespace. UTF-8
    /// validity of strings is left to the parser that runs next.
    static func isValid(_ bytes: some Collection<UInt8>) -> Bool {
        let bytes = Array(bytes)
        var scanner = Scanner(bytes: bytes)
        return scanner.scanDocument()
    }

    private enum Expectation {
        case value, valueOrClose, key, keyOrClose, colon, commaOrClose, end
    }

    private struct Scanner {
        let bytes: [UInt8]
        var index = 0
        var containers: [UInt8] = []

        init(bytes: [UInt8]) { self.bytes = bytes }

        mutating func scanDocument() -> Bool {
            var expectation = Expectation.value
            while true {
                while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
                guard index < bytes.count else { return expectation == .end }
                let byte = bytes[index]
                switch expectation {
                case .end:
                    return false
                case .value, .valueOrClose:
                    if expectation == .valueOrClose, byte == UInt8(ascii: "]") {
                        index += 1
                        containers.removeLast()
                        expectation = afterValue
                        continue
                    }
                    switch byte {
                    case UInt8(ascii: "{"), UInt8(ascii: "["):
                        guard containers.count < StrictJSON.maximumDepth else { return false }
                        containers.append(byte)
                        index += 1
                        expectation = byte == UInt8(ascii: "{") ? .keyOrClose : .valueOrClose
                    case UInt8(ascii: "\""):
                        guard scanString() else { return false }
                        expectation = afterValue
                    case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                        guard scanNumber() else { return false }
                        expectation = afterValue
                    case UInt8(ascii: "t"):
                        guard scanLiteral("true") else { return false }
                        expectation = afterValue
                    case UInt8(ascii: "f"):
                        guard scanLiteral("false") else { return false }
                        expectation = afterValue
                    case UInt8(ascii: "n"):
                        guard scanLiteral("null") else { return false }
                        expectation = afterValue
                    default:
                        return false
                    }
                case .key, .keyOrClose:
                    if expectation == .keyOrClose, byte == UInt8(ascii: "}") {
                        index += 1
                        containers.removeLast()
                        expectation = afterValue
                        continue
                    }
                    guard byte == UInt8(ascii: "\""), scanString() else { return false }
                    expectation = .colon
                case .colon:
                    guard byte == UInt8(ascii: ":") else { return false }
                    index += 1
                    expectation = .value
                case .commaOrClose:
                    let open = containers.last
                    if byte == UInt8(ascii: ",") {
                        index += 1
                        expectation = open == UInt8(ascii: "{") ? .key : .value
                    } else if (byte == UInt8(ascii: "}") && open == UInt8(ascii: "{")) || (byte == UInt8(ascii: "]") && open == UInt8(ascii: "[")) {
                        index += 1
                        containers.removeLast()
                        expectation = afterValue
                    } else {
                        return false
                    }
                }
            }
        }

        var afterValue: Expectation { containers.isEmpty ? .end : .commaOrClose }

        mutating func scanLiteral(_ literal: StaticString) -> Bool {
            let count = literal.utf8CodeUnitCount
            guard index + count <= bytes.count else { return false }
            let matches = literal.withUTF8Buffer { Array($0) == Array(bytes[index..<(index + count)]) }
            index += count
            return matches
        }

        /// `"` chars `"`: no raw control characters, only the escapes JSON defines.
        mutating func scanString() -> Bool {
            index += 1  // the opening quote
            while index < bytes.count {
                let byte = bytes[index]
                switch byte {
                case UInt8(ascii: "\""):
                    index += 1
                    return true
                case UInt8(ascii: "\\"):
                    guard index + 1 < bytes.count else { return false }
                    let escaped = bytes[index + 1]
                    if escaped == UInt8(ascii: "u") {
                        guard index + 6 <= bytes.count,
                            bytes[(index + 2)..<(index + 6)].allSatisfy({ Self.isHexDigit($0) })
                        else { return false }
                        index += 6
                    } else {
                        guard Array("\"\\/bfnrt".utf8).contains(escaped) else { return false }
                        index += 2
                    }
                case 0x00..<0x20:
                    return false
                default:
                    index += 1
                }
            }
            return false
        }

        /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
        mutating func scanNumber() -> Bool {
            if bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard index < bytes.count else { return false }
            if bytes[index] == UInt8(ascii: "0") {
                index += 1
            } else {
                guard scanDigits() else { return false }
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
                index += 1
                guard scanDigits() else { return false }
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
                index += 1
                if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
                guard scanDigits() else { return false }
            }
            return true
        }

        mutating func scanDigits() -> Bool {
            let start = index
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
            return index > start
        }

        static func isHexDigit(_ byte: UInt8) -> Bool {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "f"), UInt8(ascii: "A")...UInt8(ascii: "F"): true
            default: false
            }
        }
    }
}
