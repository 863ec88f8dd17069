import Testing
@testable import HealthProber

/// The health body contract (the health body rules of docs/API.md), without sockets.
@Suite struct HealthReadingTests {
    private func parse(_ text: String) throws(HealthReadingError) -> HealthReading {
        try HealthReading.parse(Array(text.utf8))
    }

    private func failure(_ text: String) -> HealthReadingError? {
        do {
            _ = try parse(text)
            return nil
        } catch {
            return error
        }
    }

    @Test func availableGiven() throws {
        let reading = try parse(#"{"workers":16,"active_calls":5,"available":9}"#)
        #expect(reading == HealthReading(workers: 16, activeCalls: 5, available: 9, status: "ok"))
        #expect(reading.isAcceptingCalls)
    }

    @Test func availableAbsentIsWorkersMinusActive() throws {
        #expect(try parse(#"{"workers":16,"active_calls":5}"#).available == 11)
        // More active calls than workers never gives a negative figure.
        #expect(try parse(#"{"workers":4,"active_calls":9}"#).available == 0)
    }

    @Test func availableOverWorkersIsCapped() throws {
        #expect(try parse(#"{"workers":16,"active_calls":0,"available":40}"#).available == 16)
    }

    @Test func statusDraining() throws {
        let reading = try parse(#"{"workers":16,"active_calls":0,"status":"draining"}"#)
        #expect(reading.status == "draining")
        #expect(!reading.isAcceptingCalls)
    }

    @Test func unknownFieldsIgnored() throws {
        let text = #"""
            { "version": "1.2", "workers": 8, "nested": {"a": [1, 2.5, {"b": null}], "c": "\u00e9\ud83d\ude00"},
              "active_calls": 3, "list": [], "obj": {}, "flag": true, "n": -1e10 }
            """#
        #expect(try parse(text) == HealthReading(workers: 8, activeCalls: 3, available: 5, status: "ok"))
    }

    @Test func escapedKeysAreDecoded() throws {
        #expect(try parse(#"{"\u0077orkers":2,"active_calls":0}"#).workers == 2)
    }

    @Test(arguments: [
        "", " ", "[]", "null", "1", "\"x\"", "{", "{\"workers\":1,}", "{\"workers\":1 \"a\":2}",
        "{\"workers\":01,\"active_calls\":0}", "{\"workers\":1,\"active_calls\":0}x",
        "{'workers':1}", "{\"workers\":+1}", "{\"a\":[1,]}", "{\"a\":tru}", "{\"a\":\"\\x\"}",
        "{\"a\":\"line\nbreak\"}", "{\"a\":1.}", "{\"a\":1e}", "{\"a\":-}", "{\"a\":[}", "{\"a\":{\"b\"}}",
        "{\"workers\":1,\"active_calls\":0}}",
    ])
    func invalidJSON(_ text: String) {
        guard case .invalidJSON? = failure(text) else {
            Issue.record("expected invalid_json for \(text), got \(String(describing: failure(text)))")
            return
        }
    }

    @Test func invalidUTF8IsInvalidJSON() {
        let bytes: [UInt8] = Array(#"{"status":""#.utf8) + [0xFF, 0xFE] + Array(#""}"#.utf8)
        do {
            let reading = try HealthReading.parse(bytes)
            Issue.record("invalid UTF-8 was accepted: \(reading)")
        } catch {
            #expect(error.reason == .invalidJSON, "\(error)")
        }
    }

    @Test(arguments: [
        (#"{"active_calls":0}"#, "workers"),
        (#"{"workers":16}"#, "active_calls"),
        (#"{"workers":1.5,"active_calls":0}"#, "workers"),
        (#"{"workers":1.0,"active_calls":0}"#, "workers"),
        (#"{"workers":1e1,"active_calls":0}"#, "workers"),
        (#"{"workers":"3","active_calls":0}"#, "workers"),
        (#"{"workers":true,"active_calls":0}"#, "workers"),
        (#"{"workers":null,"active_calls":0}"#, "workers"),
        (#"{"workers":[1],"active_calls":0}"#, "workers"),
        (#"{"workers":-1,"active_calls":0}"#, "workers"),
        (#"{"workers":16,"active_calls":-2}"#, "active_calls"),
        (#"{"workers":99999999999999999999,"active_calls":0}"#, "workers"),
        (#"{"workers":16,"active_calls":-99999999999999999999}"#, "active_calls"),
        (#"{"workers":16,"active_calls":0,"available":-1}"#, "available"),
        (#"{"workers":16,"active_calls":0,"available":"4"}"#, "available"),
        (#"{"workers":16,"active_calls":0,"status":1}"#, "status"),
        (#"{"workers":16,"active_calls":0,"status":null}"#, "status"),
    ])
    func invalidField(_ text: String, _ field: String) {
        #expect(failure(text)?.reason == .invalidField(field), "\(text)")
    }

    @Test func integerLimits() throws {
        #expect(try parse(#"{"workers":9223372036854775807,"active_calls":0}"#).workers == Int.max)
        #expect(failure(#"{"workers":9223372036854775808,"active_calls":0}"#)?.reason == .invalidField("workers"))
        // -0 is the integer 0.
        #expect(try parse(#"{"workers":-0,"active_calls":0}"#).workers == 0)
    }

    @Test func lastDuplicateWins() throws {
        #expect(try parse(#"{"workers":1,"workers":7,"active_calls":0}"#).workers == 7)
    }

    @Test func deepNestingNeitherCrashesNorRecurses() throws {
        let depth = 200_000
        let deep = "{\"x\":" + String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
            + ",\"workers\":1,\"active_calls\":0}"
        #expect(try parse(deep).workers == 1)
        let unbalanced = "{\"x\":" + String(repeating: "[{\"a\":", count: 50_000)
        #expect(failure(unbalanced)?.reason == .invalidJSON)
    }
}
