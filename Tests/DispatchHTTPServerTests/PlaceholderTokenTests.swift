import DispatchHTTPServer
import Foundation
import Testing

@Suite("Placeholder tokens")
struct PlaceholderTokenTests {
    @Test("every token the shipped environment file sets is a placeholder")
    func templateTokens() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let template = try String(contentsOf: root.appendingPathComponent("deploy/voxbridge-dispatch.env"), encoding: .utf8)
        let tokens = template.split(separator: "\n").compactMap { line -> String? in
            guard !line.hasPrefix("#") else { return nil }
            let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, parts[0].hasSuffix("_TOKEN") else { return nil }
            return parts[1]
        }
        #expect(tokens.count == 2)
        for token in tokens {
            #expect(PlaceholderToken.isPlaceholder(token), "\(token)")
        }
    }

    @Test("the package's postinst replaces the same placeholders serve refuses")
    func postinstList() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let postinst = try String(contentsOf: root.appendingPathComponent("deploy/debian/postinst"), encoding: .utf8)
        let line = try #require(postinst.split(separator: "\n").first { $0.hasPrefix("PLACEHOLDERS=\"") })
        let list = line.dropFirst("PLACEHOLDERS=\"".count).dropLast().split(separator: " ").map(String.init)
        #expect(Set(list) == PlaceholderToken.known)
        #expect(list.count == PlaceholderToken.known.count)
    }

    @Test("spellings of a placeholder are placeholders", arguments: ["change-me", "CHANGE_ME", "Change Me", "change-me-too", "replace-me"])
    func spellings(token: String) {
        #expect(PlaceholderToken.isPlaceholder(token))
    }

    @Test("random tokens and near misses are not", arguments: ["3f9a1c0e7b2d44e1", "change-me-now", "admin-secret", "changeme2"])
    func notPlaceholders(token: String) {
        #expect(!PlaceholderToken.isPlaceholder(token))
    }
}
