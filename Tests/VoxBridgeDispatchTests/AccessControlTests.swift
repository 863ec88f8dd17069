import DispatchHTTPServer
import HTTPTypes
import Testing
@testable import VoxBridgeDispatch

@Suite("Access control: bearer tokens")
struct AccessControlTests {
    @Test("the bearer token is read in any scheme case, without the spaces around it", arguments: [
        ("Bearer abc", "abc"), ("bearer abc", "abc"), ("BEARER abc", "abc"), ("Bearer   abc \t", "abc"),
        ("Bearer a b", "a b"),
    ])
    func tokenRead(header: String, token: String) {
        #expect(AccessControl.bearerToken([.authorization: header]) == Substring(token))
    }

    @Test("no token without the Bearer scheme, a space and something after it", arguments: [
        "Basic abc", "Bearer", "Bearer ", "Bearer \t ", "Bearerabc", "Bearer\tabc", "Bearxr abc", "bearer", "",
    ])
    func noToken(header: String) {
        #expect(AccessControl.bearerToken([.authorization: header]) == nil)
    }

    @Test("no Authorization header, no token; a combining mark after the space stays in the token")
    func edges() {
        #expect(AccessControl.bearerToken([:]) == nil)
        let token = AccessControl.bearerToken([.authorization: "Bearer \u{301}tok"])
        #expect(token != nil && !AccessControl.constantTimeEqual(token!, "tok"))
    }

    @Test("tokens compare equal only when every byte and the length match")
    func comparison() {
        #expect(AccessControl.constantTimeEqual("secret", "secret"))
        #expect(AccessControl.constantTimeEqual(Substring("secret"), "secret"))
        for other in ["secreT", "secre", "secrets", "", "s", "tecret", "sécret"] {
            #expect(!AccessControl.constantTimeEqual(other, "secret"), "\(other)")
        }
        #expect(AccessControl.constantTimeEqual("", ""))
    }

    @Test("the pick token or the admin token opens picking; nothing else does")
    func pickerRule() throws {
        let both = AccessControl(adminToken: "admin", pickToken: "pick")
        try both.requirePicker([.authorization: "Bearer pick"])
        try both.requirePicker([.authorization: "Bearer admin"])
        #expect(throws: APIError.self) { try both.requirePicker([.authorization: "Bearer pic"]) }
        #expect(throws: APIError.self) { try both.requirePicker([:]) }
        try AccessControl(adminToken: "admin", pickToken: nil).requirePicker([:])
    }
}
