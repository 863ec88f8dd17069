import SettingsStore

/// `fleet add --verify`: probes a server's health before it is added.
enum FleetVerifier {
    /// Throws a one-line failure unless `entry` answers healthy.
    static func verify(_ entry: FleetEntry) async throws(CommandLineFailure) {
        throw CommandLineFailure("--verify is not available yet: this build has no health prober; add without --verify")
    }
}
