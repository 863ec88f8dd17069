import Foundation
import Testing
@testable import SettingsStore

@Suite("FleetEntry: validation and normalisation")
struct FleetEntryTests {
    @Test("normalises scheme, host, default port and trailing slash", arguments: [
        ("https://fleet-2.example.com", "https://fleet-2.example.com"),
        ("HTTPS://Fleet-2.Example.COM/", "https://fleet-2.example.com"),
        ("https://fleet-2.example.com:443", "https://fleet-2.example.com"),
        ("http://fleet-2.example.com:80/", "http://fleet-2.example.com"),
        ("http://fleet-2.example.com:443", "http://fleet-2.example.com:443"),
        ("https://fleet-2.example.com:80", "https://fleet-2.example.com:80"),
        ("http://127.0.0.1:9001", "http://127.0.0.1:9001"),
        ("https://host/VoxCore/", "https://host/VoxCore"),
        ("https://host/voxcore//", "https://host/voxcore"),
        ("http://[::1]:9001/", "http://[::1]:9001"),
        ("http://[::1]:80", "http://[::1]"),
    ])
    func normalises(input: String, expected: String) throws {
        #expect(try FleetEntry(input).url == expected)
    }

    @Test("refuses each kind of bad entry with its reason", arguments: [
        ("fleet-2.example.com", FleetEntryError.notAbsoluteHTTPURL),
        ("ftp://fleet-2.example.com", .notAbsoluteHTTPURL),
        ("/health/fleet", .notAbsoluteHTTPURL),
        ("", .notAbsoluteHTTPURL),
        ("https://user:secret@fleet-2.example.com", .hasUserInfo),
        ("https://user@fleet-2.example.com", .hasUserInfo),
        ("https://fleet-2.example.com/?a=1", .hasQuery),
        ("https://fleet-2.example.com#top", .hasFragment),
        ("https://", .missingHost),
        ("https:///path", .missingHost),
        ("https://fle et.example.com", .invalidCharacter),
        (" https://fleet.example.com", .invalidCharacter),
        ("https://fleet.example.com\n", .invalidCharacter),
        ("https://flëet.example.com", .invalidHost),
        ("https://fleet..example.com", .invalidHost),
        ("https://fleet.example.com:0", .invalidPort),
        ("https://fleet.example.com:65536", .invalidPort),
        ("https://fleet.example.com:", .invalidPort),
        ("https://fleet.example.com:8a", .invalidPort),
        ("http://[::1", .invalidHost),
        ("https://host/a<b", .invalidCharacter),
    ])
    func refuses(input: String, expected: FleetEntryError) {
        #expect(throws: expected) { try FleetEntry(input) }
    }

    @Test("2048 characters are accepted, 2049 refused")
    func lengthLimit() throws {
        let prefix = "https://fleet.example.com/"
        let exactly = prefix + String(repeating: "a", count: FleetEntry.maximumLength - prefix.count)
        #expect(exactly.count == 2048)
        #expect(try FleetEntry(exactly).url == exactly)
        let over = exactly + "a"
        #expect(throws: FleetEntryError.tooLong(2049)) { try FleetEntry(over) }
    }
}

@Suite("FleetList: the list as a whole")
struct FleetListTests {
    @Test("duplicates after normalisation are refused, naming the first")
    func duplicates() {
        do {
            _ = try FleetList(validating: ["https://a.example.com", "https://b.example.com", "HTTPS://A.example.com:443/"])
            Issue.record("expected a duplicate error")
        } catch {
            #expect(error.problems == [.init(index: 2, value: "HTTPS://A.example.com:443/", error: .duplicate(of: 0))])
        }
    }

    @Test("256 entries are accepted, 257 refused")
    func countLimit() throws {
        let urls = (0..<257).map { "http://10.0.\($0 / 256).\($0 % 256)" }
        #expect(try FleetList(validating: Array(urls.prefix(256))).entries.count == 256)
        do {
            _ = try FleetList(validating: urls)
            Issue.record("expected a count error")
        } catch {
            #expect(error.problems.map(\.index) == [256])
            #expect(error.problems.first?.error == .tooManyEntries(maximum: 256))
            #expect(error.message.contains("257"))
        }
    }

    @Test("every bad entry is reported, each once")
    func everyProblem() {
        do {
            _ = try FleetList(validatingJSONValue: ["https://ok.example.com", 5, "ftp://x", NSNull(), ["a"]] as [Any])
            Issue.record("expected errors")
        } catch {
            #expect(error.problems.map(\.index) == [1, 2, 3, 4])
            #expect(error.problems.map(\.error) == [.notAString, .notAbsoluteHTTPURL, .notAString, .notAString])
        }
    }

    @Test("a value that is not an array is refused")
    func notAnArray() {
        #expect(throws: FleetListError.self) { try FleetList(validatingJSONValue: "https://a.example.com") }
        #expect(throws: FleetListError.self) { try FleetList(validatingJSONValue: ["voxcore_fleet": [String]()]) }
    }

    @Test("adding and removing keep the order and refuse the 257th")
    func addingAndRemoving() throws {
        let list = try FleetList(validating: ["https://a.example.com", "https://b.example.com"])
        let c = try FleetEntry("https://c.example.com")
        #expect(try list.adding(c)?.urls == ["https://a.example.com", "https://b.example.com", "https://c.example.com"])
        #expect(try list.adding(FleetEntry("https://A.example.com/")) == nil)
        #expect(try list.removing(FleetEntry("https://a.example.com"))?.urls == ["https://b.example.com"])
        #expect(list.removing(c) == nil)
        let full = try FleetList(validating: (0..<256).map { "http://10.0.\($0 / 256).\($0 % 256)" })
        #expect(throws: FleetListError.self) { try full.adding(c) }
    }
}

