import DispatchClient
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// One client for the whole process: it keeps its connections to the dispatchers alive.
/// Call `shutdown()` on it before the process ends.
func makeDispatchClient(dispatchers: [String], token: String) -> DispatchClient {
    DispatchClient(configuration: .init(instances: dispatchers, token: token))
}

/// The fleet server refused the call for a reason another server would not change (e.g. 400).
struct DialoutRefused: Error {
    let status: Int
}

/// Places one outbound call and returns the fleet server that took it. `dial` picks a server,
/// runs this closure on it, and on `.busy` or `.failed` releases the reservation with that
/// reason and picks again without the servers already tried (3 servers at most).
func placeOutboundCall(to number: String, using dispatch: DispatchClient) async throws -> String {
    let pick = try await dispatch.dial { pick in
        var request = URLRequest(url: URL(string: pick.server + "/livekit/dialout")!, timeoutInterval: 5)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = try JSONEncoder().encode(["to": number])
        guard let (_, response) = try? await URLSession.shared.data(for: request),
            let status = (response as? HTTPURLResponse)?.statusCode
        else { return .failed }  // unreachable: another server may take it
        switch status {
        case 200..<300: return .placed
        case 429: return .busy  // every worker busy
        case 500...: return .failed
        default: throw DialoutRefused(status: status)  // released `not_placed`, rethrown
        }
    }
    return pick.server
}
