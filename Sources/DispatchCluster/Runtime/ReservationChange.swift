import FleetPicker
import Foundation

/// One change of the reservations an instance decided, as the members receive it.
public enum ReservationChange: Sendable, Equatable {
    /// A reservation made on `server`.
    case made(id: String, server: String)
    /// A reservation released, and why (a `busy` or `failed` release holds the server back).
    case released(id: String, reason: ReleaseReason)

    /// The path members receive batches on.
    public static let path = "/v1/cluster/reservations"

    /// A batch's JSON: `{"from": URL, "made": [{"id", "server"}], "released": [{"id", "reason"}]}`,
    /// keys sorted, slashes unescaped.
    public static func encode(_ changes: [ReservationChange], from url: String) -> Data {
        var made: [[String: String]] = []
        var released: [[String: String]] = []
        for change in changes {
            switch change {
            case .made(let id, let server): made.append(["id": id, "server": server])
            case .released(let id, let reason): released.append(["id": id, "reason": reason.rawValue])
            }
        }
        let object: [String: Any] = ["from": url, "made": made, "released": released]
        return (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
    }
}
