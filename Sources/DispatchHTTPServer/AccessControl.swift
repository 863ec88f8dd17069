import Hummingbird

/// Who may call what, from the service's two bearer tokens and the cluster's secret.
///
/// - The admin token guards settings writes; with none, writes are open (`serve` then binds
///   loopback only, so only local callers reach them).
/// - The pick token, when set, guards picking, releasing and the read endpoints; the admin
///   token is accepted there too.
/// - The cluster secret (and, while it is rotated, the previous one) alone opens the
///   instance-to-instance endpoints; the callers' tokens are refused there.
///
/// Tokens are compared in constant time and never logged.
public struct AccessControl: Sendable {
    /// `VOXBRIDGE_ADMIN_TOKEN`.
    public var adminToken: String?
    /// `VOXBRIDGE_PICK_TOKEN`.
    public var pickToken: String?
    /// `VOXBRIDGE_CLUSTER_SECRET`, then `VOXBRIDGE_CLUSTER_SECRET_PREVIOUS` when set; empty
    /// outside a cluster, where every member call is refused.
    public var clusterSecrets: [String]

    /// Access with these tokens; `nil` for a token that is not set.
    public init(adminToken: String?, pickToken: String?, clusterSecrets: [String] = []) {
        self.adminToken = adminToken
        self.pickToken = pickToken
        self.clusterSecrets = clusterSecrets
    }

    /// Whether the request carries the cluster secret (or the previous one).
    public func isMember(_ headers: HTTPFields) -> Bool {
        guard let presented = Self.bearerToken(headers) else { return false }
        var matches = false
        for secret in clusterSecrets where Self.constantTimeEqual(presented, secret) { matches = true }
        return matches
    }

    /// Throws unless the request comes from a cluster member: 401 without a credential or
    /// with an unknown one, 403 `forbidden` with a caller's token (pick or admin), which is
    /// valid but not here.
    public func requireMember(_ headers: HTTPFields) throws(APIError) {
        guard let presented = Self.bearerToken(headers) else { throw .unauthorized() }
        // Every comparison runs, so the time taken does not tell which secret came close.
        var matchesSecret = false
        for secret in clusterSecrets where Self.constantTimeEqual(presented, secret) { matchesSecret = true }
        let matchesPick = pickToken.map { Self.constantTimeEqual(presented, $0) } ?? false
        let matchesAdmin = adminToken.map { Self.constantTimeEqual(presented, $0) } ?? false
        if matchesSecret { return }
        if matchesPick || matchesAdmin { throw .forbidden("a caller's token cannot send the cluster's own calls; members use the cluster secret") }
        throw .unauthorized()
    }

    /// Throws 401 unless the request may write settings.
    public func requireAdmin(_ request: Request) throws(APIError) {
        guard let adminToken else { return }
        guard let presented = Self.bearerToken(request.headers), Self.constantTimeEqual(presented, adminToken) else {
            throw .unauthorized()
        }
    }

    /// Throws 401 unless the request may pick, release or read.
    public func requirePicker(_ request: Request) throws(APIError) {
        try requirePicker(request.headers)
    }

    /// Throws 401 unless a request with these headers may pick, release or read (for the pick
    /// fast path, which sees the request's fields before Hummingbird builds a `Request`).
    public func requirePicker(_ headers: HTTPFields) throws(APIError) {
        guard let pickToken else { return }
        guard let presented = Self.bearerToken(headers) else { throw .unauthorized() }
        // Both comparisons always run, so the time taken does not tell which token came close.
        let matchesPick = Self.constantTimeEqual(presented, pickToken)
        let matchesAdmin = adminToken.map { Self.constantTimeEqual(presented, $0) } ?? false
        guard matchesPick || matchesAdmin else { throw .unauthorized() }
    }

    /// The token of an `Authorization: Bearer <token>` header: the scheme in any case, a space,
    /// then the token without the spaces or tabs around it; `nil` when there is none.
    ///
    /// It runs on every guarded pick, so it slices the header instead of copying it.
    public static func bearerToken(_ headers: HTTPFields) -> Substring? {
        guard let header = headers[.authorization] else { return nil }
        let scheme = "bearer".utf8
        let bytes = header.utf8
        guard bytes.count > scheme.count + 1,
            zip(bytes, scheme).allSatisfy({ presented, expected in presented | 0x20 == expected }),
            bytes[bytes.index(bytes.startIndex, offsetBy: scheme.count)] == UInt8(ascii: " ")
        else { return nil }
        // Cut by bytes, as checked: a combining mark after the space stays in the token.
        var token = header[bytes.index(bytes.startIndex, offsetBy: scheme.count + 1)...]
        while let last = token.last, last == " " || last == "\t" { token.removeLast() }
        while let first = token.first, first == " " || first == "\t" { token.removeFirst() }
        return token.isEmpty ? nil : token
    }

    /// Compares two strings in time that depends only on their lengths, not on where they differ.
    public static func constantTimeEqual(_ lhs: some StringProtocol, _ rhs: String) -> Bool {
        var difference: UInt8 = lhs.utf8.count == rhs.utf8.count ? 0 : 1
        var left = lhs.utf8.makeIterator()
        var right = rhs.utf8.makeIterator()
        while true {
            let a = left.next()
            let b = right.next()
            if a == nil, b == nil { break }
            difference |= (a ?? 0) ^ (b ?? 0)
        }
        return difference == 0
    }
}
