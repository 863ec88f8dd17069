import HTTPTypes
import Hummingbird

/// `GET /`: the operator's page, with its script, style and icon under `/ui/`, served from the
/// binary: the files in `Page/` are compiled in (SwiftPM's `embedInCode`), so the binary needs no
/// folder beside it; no build step, no framework, nothing fetched from elsewhere.
///
/// The page holds no secret and needs no token; what it shows and saves goes through the API
/// with the token the operator types (kept in the tab's `sessionStorage`). A strict
/// Content-Security-Policy lets it load only its own script, style and icon and talk only to
/// this service.
struct OperatorPageController: Sendable {
    static let securityHeaders: HTTPFields = [
        .contentSecurityPolicy: "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        .xContentTypeOptions: "nosniff",
        HTTPField.Name("Referrer-Policy")!: "no-referrer",
        // A new binary brings a new page: ask the browser to check each time.
        .cacheControl: "no-cache",
    ]

    /// The page's files as compiled in.
    static let html = String(decoding: PackageResources.operator_html, as: UTF8.self)
    static let script = String(decoding: PackageResources.operator_js, as: UTF8.self)
    static let css = String(decoding: PackageResources.operator_css, as: UTF8.self)
    static let icon = String(decoding: PackageResources.icon_svg, as: UTF8.self)

    func addRoutes(to router: Router<some RequestContext>) {
        router.get("/") { _, _ in Self.asset(Self.html, type: "text/html; charset=utf-8") }
        router.get("/ui/operator.js") { _, _ in Self.asset(Self.script, type: "text/javascript; charset=utf-8") }
        router.get("/ui/operator.css") { _, _ in Self.asset(Self.css, type: "text/css; charset=utf-8") }
        // Browsers ask for /favicon.ico where a page names no icon; both answer the same.
        router.get("/ui/icon.svg") { _, _ in Self.asset(Self.icon, type: "image/svg+xml") }
        router.get("/favicon.ico") { _, _ in Self.asset(Self.icon, type: "image/svg+xml") }
    }

    private static func asset(_ text: String, type: String) -> Response {
        var headers = securityHeaders
        headers[.contentType] = type
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
