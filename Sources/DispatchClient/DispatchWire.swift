import Foundation

/// The JSON bodies of `POST /v1/pick` and `POST /v1/release`, as `docs/openapi.yaml` describes
/// them. Declared here rather than shared with the service: the client depends on the wire
/// format only, never on the service's modules.
enum DispatchWire {
    struct PickRequest: Encodable {
        var exclude: [String]
    }

    struct PickAnswer: Decodable {
        var server: String
        var available: Int
        var workers: Int
        var reservation_id: String
        var elapsed_ms: Double
    }

    struct ReleaseRequest: Encodable {
        var reservation_id: String
        var reason: String
    }

    struct ReleaseAnswer: Decodable {
        var released: Bool
    }

    struct ErrorAnswer: Decodable {
        var error: String
        var message: String
        var servers: [PassedOverServer]?
    }
}
