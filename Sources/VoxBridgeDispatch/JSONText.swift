import NIOCore

/// Pieces of JSON text for answers built by hand on the hot path.
enum JSONText {
    /// Appends `text` as a JSON string literal, quotes included, to `buffer`.
    static func writeQuoted(_ text: String, to buffer: inout ByteBuffer) {
        if needsEscaping(text) {
            buffer.writeString(quoted(text))
        } else {
            buffer.writeInteger(UInt8(ascii: "\""))
            buffer.writeString(text)
            buffer.writeInteger(UInt8(ascii: "\""))
        }
    }

    /// Whether `text` has a character JSON requires escaped. Fleet URLs (validated) and
    /// reservation ids (hex) never do; this is the check that lets them be copied as they are.
    static func needsEscaping(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { bytes in
            for byte in bytes where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                return true
            }
            return false
        }
    }

    /// `text` as a JSON string literal, quotes included.
    static func quoted(_ text: String) -> String {
        if !needsEscaping(text) {
            return "\"" + text + "\""
        }
        var escaped = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": escaped += "\\\""
            case "\\": escaped += "\\\\"
            case "\n": escaped += "\\n"
            case "\r": escaped += "\\r"
            case "\t": escaped += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                escaped += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped + "\""
    }

    /// A duration in milliseconds with three decimals, as a JSON number.
    static func milliseconds(_ duration: Duration) -> String {
        let microseconds = duration.nanoseconds / 1_000
        let whole = microseconds / 1_000
        let fraction = microseconds % 1_000
        let digits = String(fraction)
        return "\(whole)." + String(repeating: "0", count: 3 - digits.count) + digits
    }
}
