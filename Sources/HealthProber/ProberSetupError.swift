/// Why a ``HealthProber`` could not start.
public enum ProberSetupError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The configuration cannot be used; the text says which field and why.
    case invalidConfiguration(String)
    /// libcurl could not create its multi handle (out of memory or a broken installation).
    case curlUnavailable(String)
    /// The operating system refused to start the prober's thread (the `errno`-style code).
    case threadStartFailed(Int32)

    /// One line for a person.
    public var description: String {
        switch self {
        case .invalidConfiguration(let text): "invalid prober configuration: \(text)"
        case .curlUnavailable(let text): "libcurl unavailable: \(text)"
        case .threadStartFailed(let code): "could not start the prober thread (error \(code))"
        }
    }
}
