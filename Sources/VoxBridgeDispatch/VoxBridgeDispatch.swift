import ArgumentParser
import Foundation

/// `voxbridge-dispatch`: picks the VoxCore fleet server for each outbound call.
struct VoxBridgeDispatch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "voxbridge-dispatch",
        abstract: "Picks the VoxCore fleet server with the most free capacity for each dialout.",
        version: "voxbridge-dispatch \(BuildVersion.current)",
        subcommands: [ServeCommand.self, FleetCommand.self, StoreCommand.self, IngressCommand.self],
        defaultSubcommand: ServeCommand.self
    )

    /// Parses and runs the command, reporting every failure as one line on stderr.
    static func runFromCommandLine() async {
        // Standard output into a pipe is fully buffered: line-buffer it so a supervisor or a test
        // sees each line (the "listening on" line above all) at once.
        StandardOutput.useLineBuffering()
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let code as ExitCode where code != .success {
            // A status the command chose (ingress status: 2 out of step) after its own output.
            Foundation.exit(code.rawValue)
        } catch let failure as CommandLineFailure {
            FileHandle.standardError.write(Data("error: \(failure.description)\n".utf8))
            Foundation.exit(failure.exitCode)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                exit(withError: error)  // --help and --version print their text and exit 0
            }
            // The parser's message, first line only; a usage mistake also says where to read more.
            let message = self.message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
            let hint = code == .validationFailure ? " (see voxbridge-dispatch --help)" : ""
            FileHandle.standardError.write(Data("error: \(message)\(hint)\n".utf8))
            Foundation.exit(code.rawValue)
        }
    }
}
