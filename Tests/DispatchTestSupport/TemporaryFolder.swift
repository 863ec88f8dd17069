import Foundation

/// A fresh folder per test, removed when the last reference goes.
public final class TemporaryFolder: Sendable {
    /// The folder's absolute path.
    public let path: String

    /// Creates `voxbridge-<UUID>` in the system's temporary folder.
    public init() {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("voxbridge-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// The path of `name` inside the folder.
    public func file(_ name: String) -> String { path + "/" + name }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}
