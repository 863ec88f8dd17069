import Foundation

/// The version `--version` prints: the release from the repository's `VERSION` file, then `+`
/// and the build part, compiled in as resources (`Version/VERSION` links to that file).
///
/// A plain `swift build` carries the build part `dev`. `scripts/package-deb.sh` builds from an
/// export of the commit with `Version/build` set to `git<commits since VERSION changed>.<commit>`,
/// or emptied for a tagged release, so a packaged binary names exactly what it was built from.
enum BuildVersion {
    /// For example `0.9.0+dev`, `0.9.0+git12.1bb40fc` or `0.9.0`.
    static let current = compose(
        release: String(decoding: PackageResources.VERSION, as: UTF8.self),
        build: String(decoding: PackageResources.build, as: UTF8.self))

    /// `release+build`, each trimmed of surrounding white space; just `release` when `build` is empty.
    static func compose(release: String, build: String) -> String {
        let release = release.trimmingCharacters(in: .whitespacesAndNewlines)
        let build = build.trimmingCharacters(in: .whitespacesAndNewlines)
        return build.isEmpty ? release : "\(release)+\(build)"
    }
}
