/// Why the dialout code gave a reservation back (`POST /v1/release`'s `reason`).
///
/// Raw values are the API's words. `busy` and `failed` are the dialout's own outcome fed back,
/// as Envoy's outlier detection or Kamailio's `ds_mark_dst` learn from their traffic: the fleet
/// server has just told the caller something a health probe has not shown yet.
public enum ReleaseReason: String, Sendable, Hashable, CaseIterable {
    /// The call was not attempted (the default): the reservation is dropped, nothing else.
    case notPlaced = "not_placed"
    /// The fleet server answered 429: it counts as full until a probe started after the report
    /// says otherwise, and it is probed at once.
    case busy
    /// The fleet server answered 5xx or could not be reached: it is passed over until a probe
    /// started after the report succeeds, it is probed at once, and the report counts as one
    /// failed probe toward `fall`.
    case failed
}
