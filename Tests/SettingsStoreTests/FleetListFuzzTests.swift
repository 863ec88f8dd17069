import Foundation
import SettingsStore
import Testing
import FleetPicker  // FleetRandomSource: a seeded generator, so failing cases replay

/// Seeded random inputs for the fleet-list validator: URL-like strings built from the pieces
/// that matter (scheme, user info, host, port, path, query, fragment, odd characters) and random
/// text. The validator must never trap, and every list it accepts must be normalised, valid and
/// unique. `make fuzz` runs the libFuzzer target (Fuzz/); this is the short pass of the normal
/// suite. `VOXBRIDGE_FUZZ_CASES` raises the number of cases.
@Suite("FleetList: seeded random inputs")
struct FleetListFuzzTests {
    static let cases = ProcessInfo.processInfo.environment["VOXBRIDGE_FUZZ_CASES"].flatMap(Int.init) ?? 20_000

    /// What the validator promises about a list it accepts, or `nil` when it holds.
    static func checkAccepted(_ list: FleetList, from values: [String]) -> String? {
        if list.urls.count != values.count { return "accepted \(values.count) values as \(list.urls.count) entries" }
        if list.urls.count > FleetList.maximumCount { return "more than \(FleetList.maximumCount) entries" }
        if Set(list.urls).count != list.urls.count { return "duplicates after normalisation" }
        for url in list.urls {
            guard url.hasPrefix("http://") || url.hasPrefix("https://") else { return "\(url): not http or https" }
            if url.hasSuffix("/") { return "\(url): trailing /" }
            if url.contains("?") || url.contains("#") { return "\(url): query or fragment" }
            if url.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F || !$0.isASCII }) { return "\(url): odd character" }
            let authority = url.split(separator: "/", omittingEmptySubsequences: false)[2]
            if authority.contains("@") { return "\(url): user info" }
            if authority != authority.lowercased() { return "\(url): host not lower-cased" }
            if url.hasPrefix("http://"), authority.hasSuffix(":80") { return "\(url): default port kept" }
            if url.hasPrefix("https://"), authority.hasSuffix(":443") { return "\(url): default port kept" }
            // Normalising is idempotent.
            guard let again = try? FleetEntry(url), again.url == url else { return "\(url): not a fixed point of normalisation" }
        }
        return nil
    }

    @Test("random URL-like lists never trap; accepted ones are normalised, valid and unique; refusals name each bad entry")
    func randomLists() {
        var random = FleetRandomSource(seed: 0x5EED_0003)
        var accepted = 0
        for index in 0..<Self.cases {
            let count = Int.random(in: 0...4, using: &random)
            let values = (0..<count).map { _ in Self.urlLike(&random) }
            do {
                let list = try FleetList(validating: values)
                accepted += 1
                if let problem = Self.checkAccepted(list, from: values) {
                    Issue.record("case \(index): \(problem): \(values)")
                    return
                }
            } catch {
                let indices = error.problems.map(\.index)
                if indices.isEmpty || indices != indices.sorted() || indices.contains(where: { !values.indices.contains($0) }) {
                    Issue.record("case \(index): problems \(indices) for \(values.count) values")
                    return
                }
                // Each named entry is bad alone or a duplicate of an earlier one.
                for problem in error.problems where (try? FleetEntry(values[problem.index])) != nil {
                    if !problem.reason.contains("duplicate") {
                        Issue.record("case \(index): \(values[problem.index]) is valid alone but refused: \(problem.reason)")
                        return
                    }
                }
            }
        }
        #expect(accepted > Self.cases / 20, "the generator should produce valid lists too (\(accepted))")
    }

    @Test("decoded JSON of any shape is refused with a reason, never trapping")
    func jsonShapes() {
        var random = FleetRandomSource(seed: 0x5EED_0004)
        let shapes: [Any] = [NSNull(), 7, true, "https://a.example.com", ["k": "v"], [1, 2.5, NSNull(), ["x"], ["k": 1]]]
        for _ in 0..<(Self.cases / 10) {
            var elements: [Any] = (0..<Int.random(in: 0...3, using: &random)).map { _ in Self.urlLike(&random) }
            elements.insert(shapes.randomElement(using: &random)!, at: Int.random(in: 0...elements.count, using: &random))
            let value: Any = Bool.random(using: &random) ? elements : shapes.randomElement(using: &random)!
            do {
                _ = try FleetList(validatingJSONValue: value)
                #expect(value is [Any] && (value as! [Any]).allSatisfy { $0 is String }, "\(value) accepted")
            } catch {
                #expect(!error.message.isEmpty)
            }
        }
    }

    @Test("more than 256 entries is refused as a whole")
    func tooMany() throws {
        let values = (0..<300).map { "https://fleet-\($0).example.com" }
        #expect(throws: FleetListError.self) { try FleetList(validating: values) }
        #expect(try FleetList(validating: Array(values.prefix(256))).urls.count == 256)
    }

    /// A string assembled from URL pieces, each sometimes wrong, or random text.
    static func urlLike(_ random: inout FleetRandomSource) -> String {
        func pick(_ options: [String]) -> String { options.randomElement(using: &random)! }
        if Int.random(in: 0..<10, using: &random) == 0 {
            let alphabet = Array("aZ09:/.?#@[]%-_~ \t\n\u{7F}é😀\\\"")
            return String((0..<Int.random(in: 0..<40, using: &random)).map { _ in alphabet.randomElement(using: &random)! })
        }
        var text = pick(["http://", "https://", "HTTPS://", "Http://", "ftp://", "http:/", "", "https:///", "//"])
        if Int.random(in: 0..<12, using: &random) == 0 { text += pick(["user@", "u:p@", ":@"]) }
        text += pick(["fleet-1.example.com", "FLEET-2.Example.COM", "127.0.0.1", "[::1]", "[fe80::1]", "a", "a_b.c",
                      "-bad.com", "bad..com", ".bad", "", "[::1", "host name", "xn--bcher-kva.example", "ä.example"])
        if Bool.random(using: &random) {
            text += pick([":80", ":443", ":8080", ":0", ":65535", ":65536", ":", ":x", ":00080", ":123456"])
        }
        if Bool.random(using: &random) {
            text += pick(["/", "/voxcore", "/voxcore/", "//", "/a/b/c/", "/%41", "/a b", "/ü", "/a;b=c", "/@:!$&'()*+,="])
        }
        if Int.random(in: 0..<8, using: &random) == 0 { text += pick(["?q=1", "#frag", "?", "#"]) }
        if Int.random(in: 0..<40, using: &random) == 0 { text += String(repeating: "/p", count: 1_100) }
        return text
    }
}
