/// Where a fleet server stands in the picker's eyes.
///
/// Raw values are the words the `/v1/fleet` answer uses.
public enum ServerState: String, Sendable, Hashable, CaseIterable {
    /// Listed, but no probe has answered yet.
    ///
    /// Goes to ``up`` on the first good probe with status `"ok"`, to ``draining`` on a first good
    /// probe with any other status, and to ``down`` after `fall` failed probes in a row. Picks probe
    /// an unknown server and wait for it, because it may well be the emptiest server of the fleet.
    case unknown
    /// Healthy and taking calls whenever its reading is fresh.
    ///
    /// Goes to ``draining`` when a good probe reports a status other than `"ok"`, and to ``down``
    /// after `fall` failed probes in a row. A failure short of `fall` keeps it up, so one lost
    /// packet does not empty a server, but until a good probe answers it is passed over.
    case up
    /// Failed `fall` probes in a row.
    ///
    /// Picks stop waiting for it, so a dead server cannot slow every dialout; it is probed in the
    /// background every `downInterval` instead. Goes to ``up`` (or ``draining``, by the status
    /// reported) after `rise` good probes in a row; requiring more than one keeps a flapping server
    /// from bouncing in and out of the fleet.
    case down
    /// Answering, but reporting a status other than `"ok"` (for example `"draining"`), so it gets no
    /// calls.
    ///
    /// Goes to ``up`` on the first good probe reporting `"ok"`: draining is the operator's choice,
    /// not a doubt about health, so no `rise` streak is needed. Goes to ``down`` after `fall`
    /// failed probes in a row.
    case draining
}
