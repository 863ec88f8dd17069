import Foundation
import HealthProber
import Testing
import FleetPicker  // FleetRandomSource: a seeded generator, so failing cases replay

/// Seeded random inputs for the health-report parser: random bytes, mutations of real reports,
/// and generated reports whose expected reading is known. The parser must never trap, and what
/// it accepts must obey the health body rules of docs/API.md. `make fuzz` runs the libFuzzer target (Fuzz/); this is
/// the short pass of the normal suite. `VOXBRIDGE_FUZZ_CASES` raises the number of cases.
@Suite("HealthReading: seeded random inputs")
struct HealthReadingFuzzTests {
    static let cases = ProcessInfo.processInfo.environment["VOXBRIDGE_FUZZ_CASES"].flatMap(Int.init) ?? 20_000
    static let seeds: [[UInt8]] = [
        #"{"workers":16,"active_calls":5}"#, #"{"workers": 16, "active_calls": 5, "available": 11, "status": "ok"}"#,
        #"{"status":"draining","workers":4,"active_calls":0,"extra":{"a":[1,2,{"b":null}]}}"#,
        #"{"workers":0,"active_calls":0,"available":0}"#, #" { "workers" : 9223372036854775807 , "active_calls" : 1 } "#,
        #"{"workers":16,"active_calls":5,"status":"\u00e9\ud83d\ude00"}"#,
    ].map { Array($0.utf8) }

    /// What the parser promises about anything it accepts.
    static func checkInvariants(_ bytes: [UInt8]) -> String? {
        guard let reading = try? HealthReading.parse(bytes) else { return nil }
        if reading.workers < 0 || reading.activeCalls < 0 { return "negative count" }
        if reading.available < 0 || reading.available > reading.workers { return "available \(reading.available) outside 0...\(reading.workers)" }
        // Anything accepted is JSON that Foundation reads as an object too, except a lone UTF-16
        // surrogate escape such as "\ud83d": RFC 8259's grammar allows it (§8.2), Foundation does not.
        if !hasSurrogateEscape(bytes), (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] == nil {
            return "accepted, but not a JSON object"
        }
        return nil
    }

    /// Whether `bytes` hold a `\uD800`–`\uDFFF` escape.
    static func hasSurrogateEscape(_ bytes: [UInt8]) -> Bool {
        let text = String(decoding: bytes, as: UTF8.self).lowercased()
        return ["8", "9", "a", "b", "c", "d", "e", "f"].contains { text.contains("\\ud" + $0) }
    }

    @Test("random bytes and mutated reports never trap, and what is accepted is sound")
    func randomBytes() {
        var random = FleetRandomSource(seed: 0x5EED_0001)
        var accepted = 0
        for index in 0..<Self.cases {
            let input = index % 3 == 0
                ? (0..<Int.random(in: 0..<64, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
                : Self.mutate(Self.seeds[index % Self.seeds.count], &random)
            if let problem = Self.checkInvariants(input) {
                Issue.record("case \(index): \(problem): \(String(decoding: input, as: UTF8.self))")
                return
            }
            if (try? HealthReading.parse(input)) != nil { accepted += 1 }
        }
        #expect(accepted > 0, "the mutations should keep some reports valid")
    }

    @Test("generated reports parse to the reading the health body rules of docs/API.md gives")
    func generatedReports() throws {
        var random = FleetRandomSource(seed: 0x5EED_0002)
        for index in 0..<(Self.cases / 4) {
            var members: [String] = []
            var expectedError: String?
            func field(_ name: String, required: Bool) -> Int? {
                switch Int.random(in: 0..<10, using: &random) {
                case 0 where !required: return nil
                case 0:
                    expectedError = expectedError ?? name
                    return nil
                case 1:
                    members.append("\"\(name)\": \"7\"")
                    expectedError = expectedError ?? name
                    return nil
                case 2:
                    members.append("\"\(name)\": -\(Int.random(in: 1...99, using: &random))")
                    expectedError = expectedError ?? name
                    return nil
                case 3:
                    members.append("\"\(name)\": 1.5")
                    expectedError = expectedError ?? name
                    return nil
                default:
                    let value = Int.random(in: 0...64, using: &random)
                    members.append("\"\(name)\": \(value)")
                    return value
                }
            }
            let workers = field("workers", required: true)
            let active = field("active_calls", required: true)
            let available = field("available", required: false)
            let status = ["ok", "draining", "ok"][Int.random(in: 0..<3, using: &random)]
            if Bool.random(using: &random) { members.append("\"status\": \"\(status)\"") }
            members.append("\"ignored\": [\(index), {\"x\": true}]")
            members.shuffle(using: &random)
            let text = "{" + members.joined(separator: ", ") + "}"

            // The first bad field in the order workers, active_calls, available is named.
            let order = ["workers", "active_calls", "available"]
            let firstBad = expectedError.flatMap { _ in order.first { name in
                switch name {
                case "workers": workers == nil
                case "active_calls": active == nil
                default: available == nil && text.contains("\"available\"")
                }
            } }
            do {
                let reading = try HealthReading.parse(Array(text.utf8))
                #expect(firstBad == nil, "\(text) was accepted")
                guard let workers, let active else { continue }
                #expect(reading.workers == workers && reading.activeCalls == active, "\(text)")
                #expect(reading.available == (available.map { min($0, workers) } ?? max(0, workers - active)), "\(text)")
                #expect(reading.status == (text.contains("\"status\"") ? status : "ok"))
            } catch .invalidField(let name, _) {
                #expect(name == firstBad, "\(text): \(name)")
            } catch {
                Issue.record("\(text): \(error)")
            }
        }
    }

    /// A few random edits of `bytes`: flips, insertions of JSON punctuation, deletions, truncation.
    static func mutate(_ bytes: [UInt8], _ random: inout FleetRandomSource) -> [UInt8] {
        var bytes = bytes
        let punctuation = Array(#"{}[],:"\-0123456789eE.tfn "#.utf8)
        for _ in 0..<Int.random(in: 1...4, using: &random) {
            let position = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &random)
            switch Int.random(in: 0..<5, using: &random) {
            case 0 where !bytes.isEmpty: bytes[position] ^= UInt8(1 << Int.random(in: 0..<8, using: &random))
            case 1: bytes.insert(punctuation.randomElement(using: &random)!, at: position)
            case 2 where !bytes.isEmpty: bytes.remove(at: position)
            case 3: bytes = Array(bytes.prefix(position))
            default: bytes.insert(contentsOf: bytes[position...].prefix(8), at: position)
            }
        }
        return bytes
    }
}
