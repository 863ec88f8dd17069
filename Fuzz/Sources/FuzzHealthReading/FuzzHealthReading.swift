import Foundation
import HealthProber

/// libFuzzer entry point: `HealthReading.parse` on arbitrary bytes (a fleet server's answer).
///
/// It must never trap, and whatever it accepts must obey the health body rules of docs/API.md: counts ≥ 0 and
/// `available` within `0...workers`; and it must be a JSON object that Foundation reads too.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHealthReading(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size))
    guard let reading = try? HealthReading.parse(bytes) else { return 0 }
    precondition(reading.workers >= 0 && reading.activeCalls >= 0, "negative count: \(reading)")
    precondition((0...reading.workers).contains(reading.available), "available outside 0...workers: \(reading)")
    // Foundation refuses a lone UTF-16 surrogate escape such as "\ud83d", which RFC 8259's
    // grammar allows (§8.2); compare only without one.
    let text = String(decoding: bytes, as: UTF8.self).lowercased()
    if !["8", "9", "a", "b", "c", "d", "e", "f"].contains(where: { text.contains("\\ud" + $0) }) {
        precondition((try? JSONSerialization.jsonObject(with: Data(bytes))) is [String: Any], "accepted a body that is not a JSON object")
    }
    return 0
}
