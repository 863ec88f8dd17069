import Foundation

/// Where the release-built `voxbridge-dispatch` and `voxcore-sim` are: next to this executable
/// unless given, and (re)built there (same scratch path, release) from a checkout.
struct Binaries: Sendable {
    var dispatcher: String
    var sim: String

    /// Finds both executables. Those not given are built with `swift build -c release` into the
    /// scratch path this executable was built in (e.g. `.build-bench`) whenever the current folder
    /// is the package, so a benchmark never measures binaries older than the sources (the build
    /// is incremental: seconds when nothing changed); elsewhere they must exist already.
    static func locate(dispatcher: String?, sim: String?, progress: ProgressPrinter) throws -> Binaries {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments[0]
        let folder = URL(fileURLWithPath: executable).deletingLastPathComponent()
        let found = Binaries(
            dispatcher: dispatcher ?? folder.appendingPathComponent("voxbridge-dispatch").path,
            sim: sim ?? folder.appendingPathComponent("voxcore-sim").path)
        let inPackage = FileManager.default.fileExists(atPath: "Package.swift")
        for (product, path, given) in [("voxbridge-dispatch", found.dispatcher, dispatcher), ("voxcore-sim", found.sim, sim)] {
            let exists = FileManager.default.isExecutableFile(atPath: path)
            if given != nil {
                guard exists else { throw ChildProcess.StartError(description: "\(path) is not an executable") }
            } else if inPackage || !exists {
                try build(product: product, binFolder: folder, progress: progress)
            }
        }
        return found
    }

    /// `swift build -c release --scratch-path SCRATCH --product PRODUCT`, where SCRATCH is the
    /// folder above `<triple>/release` that holds this executable.
    private static func build(product: String, binFolder: URL, progress: ProgressPrinter) throws {
        let scratch = binFolder.deletingLastPathComponent().deletingLastPathComponent().path
        guard FileManager.default.fileExists(atPath: "Package.swift") else {
            throw ChildProcess.StartError(
                description: "\(product) not found next to voxbridge-bench; build it: swift build -c release --scratch-path \(scratch) --product \(product)")
        }
        progress.note("building \(product): swift build -c release --scratch-path \(scratch) --product \(product)")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["swift", "build", "-c", "release", "--scratch-path", scratch, "--product", product]
        // Build output goes to standard error: standard output's last line is the JSON.
        process.standardOutput = FileHandle.standardError
        process.standardError = FileHandle.standardError
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ChildProcess.StartError(description: "building \(product) failed (exit \(process.terminationStatus))")
        }
    }
}
