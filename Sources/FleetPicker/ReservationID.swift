/// A reservation's identity: 64 random bits and a 64-bit counter, shown as 32 hex digits.
///
/// The counter makes identities unique within one ``FleetState``; the random half keeps them
/// unique across restarts and hard to guess. Kept as two integers so that making and matching
/// one costs no string work; the text form is made once per pick.
struct ReservationID: Hashable, Sendable {
    var random: UInt64
    var counter: UInt64

    /// The 32 lower-case hex digits.
    var text: String {
        String(unsafeUninitializedCapacity: 32) { buffer in
            Self.writeHex(random, into: buffer, at: 0)
            Self.writeHex(counter, into: buffer, at: 16)
            return 32
        }
    }

    /// Parses the text form; `nil` for anything that is not exactly 32 hex digits.
    init?(text: String) {
        var text = text
        guard let halves = text.withUTF8(Self.parse) else { return nil }
        self.init(random: halves.0, counter: halves.1)
    }

    /// The two halves spelled by 32 hex digits; works on the bytes in place.
    private static func parse(_ utf8: UnsafeBufferPointer<UInt8>) -> (UInt64, UInt64)? {
        guard utf8.count == 32 else { return nil }
        var halves: (UInt64, UInt64) = (0, 0)
        var position = 0
        for byte in utf8 {
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: return nil
            }
            if position < 16 {
                halves.0 = halves.0 << 4 | UInt64(digit)
            } else {
                halves.1 = halves.1 << 4 | UInt64(digit)
            }
            position += 1
        }
        return halves
    }

    init(random: UInt64, counter: UInt64) {
        self.random = random
        self.counter = counter
    }

    private static func writeHex(_ value: UInt64, into buffer: UnsafeMutableBufferPointer<UInt8>, at start: Int) {
        let digits: StaticString = "0123456789abcdef"
        for index in 0..<16 {
            let nibble = Int((value >> UInt64(60 - 4 * index)) & 0xF)
            buffer[start + index] = digits.utf8Start[nibble]
        }
    }
}
