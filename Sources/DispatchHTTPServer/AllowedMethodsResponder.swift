import Hummingbird

/// Answers a known path asked with a method it does not serve with 405 and an `Allow` header
/// (Hummingbird's router answers 404 for both an unknown path and an unknown method), and a
/// `HEAD` of a path served by `GET` as that `GET` (NIO sends the head without the body).
///
/// It wraps the router's responder, between it and ``JSONErrorResponder``, and learns the
/// paths and methods from the router itself, so it never disagrees with the routes. Every path
/// of this API is a constant, so one dictionary lookup finds a request's path.
public struct AllowedMethodsResponder<Context: RequestContext>: HTTPResponder {
    /// The router's responder.
    let inner: RouterResponder<Context>
    /// The methods each path serves, `HEAD` included where `GET` is.
    let methodsByPath: [String: Set<HTTPRequest.Method>]
    /// The paths whose `HEAD` is answered as their `GET` (no `HEAD` route of their own).
    let headAnsweredAsGet: Set<String>

    /// Wraps `router`'s responder with the methods of its routes.
    public init(router: Router<Context>) {
        var methodsByPath: [String: Set<HTTPRequest.Method>] = [:]
        for route in router.routes {
            methodsByPath[route.path.description, default: []].insert(route.method)
        }
        let headAnsweredAsGet = Set(methodsByPath.filter { $0.value.contains(.get) && !$0.value.contains(.head) }.keys)
        for path in headAnsweredAsGet {
            methodsByPath[path]?.insert(.head)
        }
        self.inner = router.buildResponder()
        self.methodsByPath = methodsByPath
        self.headAnsweredAsGet = headAnsweredAsGet
    }

    /// Answers 405 with `Allow` for a known path and another method, else asks the router.
    public func respond(to request: Request, context: Context) async throws -> Response {
        let path = Self.routedPath(request.uri.path, among: methodsByPath)
        guard let methods = methodsByPath[path] else {
            return try await inner.respond(to: request, context: context)
        }
        guard methods.contains(request.method) else {
            let allow = methods.map(\.rawValue).sorted().joined(separator: ", ")
            // Answered here, not thrown: only the router turns thrown errors into answers.
            return try APIError(status: .methodNotAllowed, code: "method_not_allowed",
                                message: "\(request.method) is not served at \(path); it serves \(allow)",
                                headers: [.allow: allow])
                .response(from: request, context: context)
        }
        if request.method == .head, headAnsweredAsGet.contains(path) {
            var head = request.head
            head.method = .get
            return try await inner.respond(to: Request(head: head, body: request.body), context: context)
        }
        return try await inner.respond(to: request, context: context)
    }

    /// The route path a request path resolves to: as it is when that is a route (the common
    /// case, one lookup), else with empty segments dropped, as Hummingbird's router matches
    /// (`/health/` and `//health` are `/health`).
    static func routedPath(_ path: String, among routes: [String: Set<HTTPRequest.Method>]) -> String {
        if routes[path] != nil { return path }
        return "/" + path.split(separator: "/").joined(separator: "/")
    }
}
