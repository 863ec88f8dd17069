/// What an operator has set for a fleet server, whatever its probes say.
///
/// Raw values are the words of the API (`PUT /v1/fleet/admin`) and the `fleet` commands.
public enum OperatorState: String, Sendable, Hashable, CaseIterable {
    /// Takes calls as its probes allow (the default).
    case active
    /// No new dialouts; calls in progress finish. Probed as before, so its active calls can be
    /// watched going to zero.
    case draining
    /// No dialouts. Failed probes are expected: they count toward nothing (no `down`, no alarm),
    /// and it is probed at the down interval only.
    case maintenance
}
