import Testing
@testable import VoxBridgeDispatch

@Suite("Request bodies: strict RFC 8259 syntax")
struct StrictJSONTests {
    @Test("accepts JSON", arguments: [
        #"{}"#, #"[]"#, #" {"a": [1, -2.5e+3, 0, 0.1, true, false, null, "x\"\\\/\b\f\n\r\t\u00e9"]} "#,
        #""text""#, "0", "-0", "1E9", #"{"voxcore_fleet": ["https://a.example.com"]}"#, #"[[[]],{}]"#, "\n\t[ ]\r\n",
    ])
    func accepts(_ text: String) {
        #expect(RequestBody.isStrictJSON(Array(text.utf8)))
    }

    @Test("refuses what is not JSON", arguments: [
        "", " ", "[1,]", #"{"a":1,}"#, "[1 2]", #"{"a" 1}"#, #"{a: 1}"#, "{'a': 1}", "01", "1.", ".5", "+1", "-",
        "1e", "NaN", "Infinity", "tru", "nul", #""abc"#, "\"a\u{01}\"", #""\x""#, #""\u12G4""#, "[] []", "{} x", "[",
        "]", "{", "}", "[1}", #"{"a":1]"#, "/* c */ {}", "[1] // c",
    ])
    func refuses(_ text: String) {
        #expect(!RequestBody.isStrictJSON(Array(text.utf8)))
    }

    @Test("refuses nesting past the limit without recursion")
    func depth() {
        let ok = String(repeating: "[", count: RequestBody.maximumJSONDepth) + String(repeating: "]", count: RequestBody.maximumJSONDepth)
        #expect(RequestBody.isStrictJSON(Array(ok.utf8)))
        let oneTooDeep = "[" + ok + "]"
        #expect(!RequestBody.isStrictJSON(Array(oneTooDeep.utf8)))
        #expect(!RequestBody.isStrictJSON(Array(#"{"a": \#(ok)}"#.utf8)))
        let deep = String(repeating: "[", count: 1_000_000) + String(repeating: "]", count: 1_000_000)
        #expect(!RequestBody.isStrictJSON(Array(deep.utf8)))
    }
}
