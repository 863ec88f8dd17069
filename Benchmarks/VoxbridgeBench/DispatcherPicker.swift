import Foundation

/// Picks through a running `voxbridge-dispatch`: `POST /v1/pick`, and `POST /v1/release` with
/// the dialout's outcome after a 429 or a failure.
struct DispatcherPicker: Picker {
    let http: LoopbackHTTP
    /// `http://127.0.0.1:PORT` of the dispatcher.
    let baseURL: String

    func pick(exclude: [String]) async -> PickAnswer {
        let body = exclude.isEmpty ? nil : #"{"exclude":[\#(exclude.map { "\"\($0)\"" }.joined(separator: ","))]}"#
        do {
            let answer = try await http.send(.POST, baseURL + "/v1/pick", json: body)
            let json = answer.json
            switch answer.status {
            case 200:
                guard let server = json?["server"] as? String else { return .error("pick: no server in answer") }
                return .picked(server: server, reservation: json?["reservation_id"] as? String)
            case 503 where json?["error"] as? String == "no_capacity":
                return .noCapacity
            default:
                return .error("pick: HTTP \(answer.status) \(json?["error"] as? String ?? "")")
            }
        } catch {
            return .error("pick: \(error)")
        }
    }

    func release(_ reservation: String, outcome: DialoutOutcome) async {
        _ = try? await http.send(
            .POST, baseURL + "/v1/release", json: #"{"reservation_id":"\#(reservation)","reason":"\#(outcome.rawValue)"}"#)
    }
}
