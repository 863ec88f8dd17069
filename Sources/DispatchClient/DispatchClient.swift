import AsyncHTTPClient
import Foundation
import NIOCore
import Synchronization

/// The dialout code's client of VoxBridge Dispatch: picks a fleet server, gives reservations
/// back, and runs the whole dialout protocol around the caller's placing code with
/// ``dial(excluding:onPick:_:)``.
///
/// ```swift
/// let client = DispatchClient(configuration: .init(instances: ["http://127.0.0.1:8080"], token: "…"))
/// let pick = try await client.dial { pick in
///     try await placeCall(on: pick.server)   // your code: .placed, .busy (429) or .failed (5xx)
/// }
/// try await client.shutdown()
/// ```
///
/// One client serves any number of concurrent dials; create it once and call ``shutdown()``
/// before the process ends (unless it was given an `HTTPClient` it does not own).
public final class DispatchClient: Sendable {
    /// The configuration the client was made with.
    public let configuration: DispatchClientConfiguration

    private let http: HTTPClient
    private let ownsHTTPClient: Bool
    /// Index of the instance that answered last: the next request starts there, so that a
    /// client keeps to one instance while it answers (its reservations live there).
    private let preferredInstance = Mutex(0)
    private let instances: [String]

    /// A client with its own HTTP connection pool; call ``shutdown()`` when done.
    public convenience init(configuration: DispatchClientConfiguration = .init()) {
        var settings = HTTPClient.Configuration()
        settings.connectionPool = .init(
            idleTimeout: .seconds(60),
            concurrentHTTP1ConnectionsPerHostSoftLimit: max(1, configuration.maxConnectionsPerInstance))
        settings.timeout = .init(
            connect: Self.timeAmount(configuration.connectTimeout), read: Self.timeAmount(configuration.requestTimeout))
        settings.httpVersion = .http1Only
        // A dispatcher never redirects; following one could send the token elsewhere.
        settings.redirectConfiguration = .disallow
        self.init(configuration: configuration, httpClient: HTTPClient(eventLoopGroupProvider: .singleton, configuration: settings), owned: true)
    }

    /// A client that sends its requests through `httpClient`, which the caller keeps and shuts down.
    public convenience init(configuration: DispatchClientConfiguration = .init(), httpClient: HTTPClient) {
        self.init(configuration: configuration, httpClient: httpClient, owned: false)
    }

    private init(configuration: DispatchClientConfiguration, httpClient: HTTPClient, owned: Bool) {
        self.configuration = configuration
        self.http = httpClient
        self.ownsHTTPClient = owned
        // Trailing slashes dropped so that paths join cleanly.
        self.instances = configuration.instances.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
    }

    /// Closes the client's connections (only those of a pool it created itself).
    public func shutdown() async throws {
        if ownsHTTPClient { try await http.shutdown() }
    }

    // MARK: - Pick and release

    /// Asks for the fleet server of one dialout (`POST /v1/pick`), never one in `excluded`.
    ///
    /// - Returns: the server and its reservation; release the reservation with
    ///   ``release(_:reason:)`` if the call is not placed there.
    /// - Throws: ``DispatchClientError/noCapacity(servers:_:)``, ``DispatchClientError/fleetEmpty(_:)``,
    ///   ``DispatchClientError/unauthorized(_:)``, ``DispatchClientError/unavailable(_:)`` when
    ///   no instance answered, ``DispatchClientError/rejected(_:)`` for other error answers.
    public func pick(excluding excluded: [String] = []) async throws -> DispatchPick {
        let body = excluded.isEmpty ? nil : try JSONEncoder().encode(DispatchWire.PickRequest(exclude: excluded))
        let answer = try await send("/v1/pick", body: body, startingAt: nil)
        guard answer.status == 200 else { throw Self.error(for: answer) }
        guard let pick = try? JSONDecoder().decode(DispatchWire.PickAnswer.self, from: answer.body) else {
            throw DispatchClientError.invalidAnswer(instance: answer.instance, detail: "pick: \(String(decoding: answer.body.prefix(200), as: UTF8.self))")
        }
        return DispatchPick(
            server: pick.server, reservationID: pick.reservation_id, available: pick.available,
            workers: pick.workers, elapsedMilliseconds: pick.elapsed_ms, instance: answer.instance, leaseTerm: answer.leaseTerm,
            decidedBy: answer.decidedBy)
    }

    /// Gives a reservation back (`POST /v1/release`): the call was not placed on `pick.server`,
    /// for `reason`. Sent to the instance that made the pick first.
    ///
    /// - Throws: ``DispatchClientError/unknownReservation(_:)`` when it ended already (released,
    ///   settled by a newer health report, or expired), and the errors of ``pick(excluding:)``.
    public func release(_ pick: DispatchPick, reason: ReleaseReason = .notPlaced) async throws {
        let body = try JSONEncoder().encode(DispatchWire.ReleaseRequest(reservation_id: pick.reservationID, reason: reason.rawValue))
        let answer = try await send("/v1/release", body: body, startingAt: instances.firstIndex(of: pick.instance))
        guard answer.status == 200 else { throw Self.error(for: answer) }
        guard (try? JSONDecoder().decode(DispatchWire.ReleaseAnswer.self, from: answer.body))?.released == true else {
            throw DispatchClientError.invalidAnswer(instance: answer.instance, detail: "release: \(String(decoding: answer.body.prefix(200), as: UTF8.self))")
        }
    }

    // MARK: - The whole dialout

    /// Places one dialout: picks a server, runs `place` on it, and on ``PlacementOutcome/busy``
    /// (the server answered 429) or ``PlacementOutcome/failed`` (5xx, unreachable) releases the
    /// reservation with that reason and picks again without every server tried so far, at most
    /// ``DispatchClientConfiguration/maxAttempts`` servers in all.
    ///
    /// When `place` throws, the reservation is released `not_placed` and the error is rethrown:
    /// throw only when the call was not placed. A release that fails does not stop the dial (the
    /// reservation then expires by itself on the dispatcher).
    ///
    /// - Parameters:
    ///   - excluded: servers never to try for this dialout.
    ///   - onPick: called after every pick with its timing, for callers that measure.
    ///   - place: the caller's placing code for one server.
    /// - Returns: the pick the call was placed on.
    /// - Throws: ``DispatchClientError/retriesExhausted(_:)`` when every server tried was busy
    ///   or failed; the errors of ``pick(excluding:)``; `place`'s own error.
    @discardableResult
    public func dial(
        excluding excluded: [String] = [],
        onPick: (@Sendable (PickEvent) -> Void)? = nil,
        _ place: (DispatchPick) async throws -> PlacementOutcome
    ) async throws -> DispatchPick {
        var exclude = excluded
        var attempts: [DialAttempt] = []
        for attempt in 1...max(1, configuration.maxAttempts) {
            let started = ContinuousClock.now
            let pick: DispatchPick
            do {
                pick = try await self.pick(excluding: exclude)
            } catch {
                onPick?(PickEvent(attempt: attempt, started: started, ended: .now, server: nil))
                throw error
            }
            onPick?(PickEvent(attempt: attempt, started: started, ended: .now, server: pick.server))
            let outcome: PlacementOutcome
            do {
                outcome = try await place(pick)
            } catch {
                try? await release(pick, reason: .notPlaced)
                throw error
            }
            switch outcome {
            case .placed:
                return pick
            case .busy, .failed:
                attempts.append(DialAttempt(server: pick.server, outcome: outcome))
                try? await release(pick, reason: outcome == .busy ? .busy : .failed)
                try Task.checkCancellation()
                exclude.append(pick.server)
            }
        }
        throw DispatchClientError.retriesExhausted(attempts)
    }

    // MARK: - HTTP

    private struct Answer {
        var instance: String
        var status: Int
        var body: Data
        var leaseTerm: Int64?
        var decidedBy: String?
    }

    /// POSTs `body` to `path` on the instances in turn, from `startingAt` (or the preferred
    /// one), until one gives an answer that is the service's own.
    private func send(_ path: String, body: Data?, startingAt first: Int?) async throws -> Answer {
        guard !instances.isEmpty else { throw DispatchClientError.unavailable([]) }
        let start = first ?? preferredInstance.withLock { $0 }
        var failures: [InstanceFailure] = []
        for offset in 0..<instances.count {
            let index = (start + offset) % instances.count
            let instance = instances[index]
            var request = HTTPClientRequest(url: instance + path)
            request.method = .POST
            if let token = configuration.token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
            if let body {
                request.headers.add(name: "Content-Type", value: "application/json")
                request.body = .bytes(ByteBuffer(bytes: body))
            }
            do {
                let response = try await http.execute(request, timeout: Self.timeAmount(configuration.requestTimeout))
                let bytes = Data((try await response.body.collect(upTo: 1 << 20)).readableBytesView)
                let status = Int(response.status.code)
                if status >= 500 {
                    let code = (try? JSONDecoder().decode(DispatchWire.ErrorAnswer.self, from: bytes))?.error
                    // no_capacity and fleet_empty are the fleet's state, the same on every
                    // instance; any other 5xx is this instance's trouble: try the next one.
                    if code != "no_capacity", code != "fleet_empty" {
                        failures.append(InstanceFailure(instance: instance, reason: .serverError(status: status, code: code)))
                        continue
                    }
                }
                preferredInstance.withLock { $0 = index }
                let term = response.headers.first(name: "VoxBridge-Lease-Term").flatMap { Int64($0) }
                return Answer(
                    instance: instance, status: status, body: bytes, leaseTerm: term,
                    decidedBy: response.headers.first(name: "VoxBridge-Decided-By"))
            } catch {
                if Task.isCancelled { throw CancellationError() }
                failures.append(InstanceFailure(instance: instance, reason: Self.reason(error)))
            }
        }
        throw DispatchClientError.unavailable(failures)
    }

    private static func reason(_ error: any Error) -> InstanceFailure.Reason {
        if let error = error as? HTTPClientError,
            [HTTPClientError.deadlineExceeded, .connectTimeout, .readTimeout].contains(error) {
            return .timedOut
        }
        return .unreachable(String(describing: error))
    }

    private static func error(for answer: Answer) -> DispatchClientError {
        guard let body = try? JSONDecoder().decode(DispatchWire.ErrorAnswer.self, from: answer.body) else {
            return .rejected(ServiceError(
                status: answer.status, code: "http_\(answer.status)",
                message: String(decoding: answer.body.prefix(200), as: UTF8.self)))
        }
        let error = ServiceError(status: answer.status, code: body.error, message: body.message)
        switch (answer.status, body.error) {
        case (503, "no_capacity"): return .noCapacity(servers: body.servers ?? [], error)
        case (503, "fleet_empty"): return .fleetEmpty(error)
        case (401, _): return .unauthorized(error)
        case (404, "unknown_reservation"): return .unknownReservation(error)
        default: return .rejected(error)
        }
    }

    private static func timeAmount(_ duration: Duration) -> TimeAmount {
        let (seconds, attoseconds) = duration.components
        return .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
