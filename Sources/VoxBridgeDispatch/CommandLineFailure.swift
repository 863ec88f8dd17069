/// An error the command line reports as one line on stderr with a non-zero exit status, never a
/// stack trace or a usage text.
struct CommandLineFailure: Error, CustomStringConvertible {
    /// The line to print after `error: `.
    var description: String
    /// The exit status.
    var exitCode: Int32

    init(_ description: String, exitCode: Int32 = 1) {
        self.description = description
        self.exitCode = exitCode
    }

    /// Runs `body`, turning its typed error into a one-line failure.
    static func wrap<T, E: Error & CustomStringConvertible>(_ body: () async throws(E) -> T) async throws(CommandLineFailure) -> T {
        do {
            return try await body()
        } catch {
            throw CommandLineFailure(error.description)
        }
    }

    /// Runs `body`, turning its typed error into a one-line failure.
    static func wrap<T, E: Error & CustomStringConvertible>(_ body: () throws(E) -> T) throws(CommandLineFailure) -> T {
        do {
            return try body()
        } catch {
            throw CommandLineFailure(error.description)
        }
    }
}
