import Hummingbird

/// Who may call what, from the two tokens of the contract.
///
/// - The admin token guards settings writes; with none, writes are open (`serve` then binds
///   loopback only, so only local callers reach them).
/// - The pick token, when set, guards picking, releasing and the read endpoints; the admin
///   token is accepted there too.
///
/// Tokens are compared in constant time and never logged.
struct AccessControl: Sendable {
    /// `VOXBRIDGE_ADMIN_TOKEN`.
    var adminToken: String?
    /// `VOXBRIDGE_PICK_TOKEN`.
    var pickToken: String?

    /// Throws 401 unless the request may write settings.
    func requireAdmin(_ request: Request) throws(APIError) {
        guard let adminToken else { return }
        guard let presented = Self.bearerToken(request.headers), Self.constantTimeEqual(presented, adminToken) else {
            throw .unauthorized()
        }
    }

    /// Throws 401 unless the request may pick, release or read.
    func requirePicker(_ request: Request) throws(APIError) {
        try requirePicker(request.headers)
    }

    /// Throws 401 unless a request with these headers may pick, release or read (for the pick
    /// fast path, which sees the request's fields before Hummingbird builds a `Request`).
    func requirePicker(_ headers: HTTPFields) throws(APIError) {
        guard let pickToken else { return }
        guard let presented = Self.bearerToken(headers) else { throw .unauthorized() }
        // Both comparisons always run, so the time taken does not tell which token came close.
        let matchesPick = Self.constantTimeEqual(presented, pickToken)
        let matchesAdmin = adminToken.map { Self.constantTimeEqual(presented, $0) } ?? false
        guard matchesPick || matchesAdmin else { throw .unauthorized() }
    }

    /// The token of an `Authorization: Bearer <token>` header.
    static func bearerToken(_ headers: HTTPFields) -> String? {
        guard let header = headers[.authorization] else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        return String(parts[1]).trimmingSpaces
    }

    /// Compares two strings in time that depends only on their lengths, not on where they differ.
    static func constantTimeEqual(_ lhs: String, _ rhs: String) -> Bool {
        let left = Array(lhs.utf8)
        let right = Array(rhs.utf8)
        var difference = UInt8(truncatingIfNeeded: left.count ^ right.count)
        difference |= left.count == right.count ? 0 : 1
        for index in 0..<max(left.count, right.count) {
            let a = index < left.count ? left[index] : 0
            let b = index < right.count ? right[index] : 0
            difference |= a ^ b
        }
        return difference == 0
    }
}

extension String {
    fileprivate var trimmingSpaces: String {
        var text = Substring(self)
        while text.last == " " || text.last == "\t" { text.removeLast() }
        while text.first == " " || text.first == "\t" { text.removeFirst() }
        return String(text)
    }
}
