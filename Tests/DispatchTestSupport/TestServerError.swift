/// Why a test's socket or server could not start.
public enum TestServerError: Error {
    /// A socket call failed with this `errno`.
    case socket(Int32)
    /// The system refused a thread.
    case thread
}
