/// An operator's state for a fleet server, as stored (the words of the API and the CLI).
public enum FleetAdminState: String, Sendable, CaseIterable, Codable {
    /// Takes calls as its probes allow (the default; not stored).
    case active
    /// No new dialouts; calls in progress finish.
    case draining
    /// No dialouts; failing probes are expected.
    case maintenance
}
