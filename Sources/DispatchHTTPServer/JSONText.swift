import NIOCore

/// Pieces of JSON text for answers built by hand on the hot path.
public enum JSONText {
    /// Appends `text` as a JSON string literal, quotes included, to `buffer`. Fleet URLs
    /// (validated) and reservation ids (hex) never need escaping and are copied as they are;
    /// anything else goes through ``JSONValue``'s encoder.
    public static func writeQuoted(_ text: String, to buffer: inout ByteBuffer) {
        if needsEscaping(text) {
            buffer.writeBytes(JSONValue.string(text).encoded())
        } else {
            buffer.writeInteger(UInt8(ascii: "\""))
            buffer.writeString(text)
            buffer.writeInteger(UInt8(ascii: "\""))
        }
    }

    /// Whether `text` has a character JSON requires escaped.
    private static func needsEscaping(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { bytes in
            for byte in bytes where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                return true
            }
            return false
        }
    }

    /// A duration in milliseconds with three decimals, as a JSON number.
    public static func milliseconds(_ duration: Duration) -> String {
        let microseconds = duration.nanoseconds / 1_000
        let whole = microseconds / 1_000
        let fraction = microseconds % 1_000
        let digits = String(fraction)
        return "\(whole)." + String(repeating: "0", count: 3 - digits.count) + digits
    }
}
