/// The two settings stores; the tests that hold for both run on each.
public enum TestStoreKind: String, CaseIterable, Sendable, CustomStringConvertible {
    case sqlite
    case postgres

    /// The kinds this run can test: PostgreSQL only when a test server is configured (`make test`
    /// starts one). Without it, each suite's `postgresCasesSkipped` test shows as skipped with
    /// ``PostgresTestServer/skipNote``.
    public static var testable: [TestStoreKind] { PostgresTestServer.isConfigured ? allCases : [.sqlite] }

    public var description: String { rawValue }
}
