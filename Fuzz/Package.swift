// swift-tools-version: 6.1
// libFuzzer targets for the parsers that read untrusted input. Not part of the main build:
// `make fuzz` builds them with `swift build --sanitize=fuzzer` (scratch path .build-fuzz) and
// runs each for a bounded time. See docs/SECURITY.md.
import PackageDescription

let package = Package(
    name: "voxbridge-fuzz",
    dependencies: [.package(name: "voxbridge-dispatch", path: "..")],
    targets: [
        .executableTarget(
            name: "FuzzHealthReading",
            dependencies: [.product(name: "HealthProber", package: "voxbridge-dispatch")]
        ),
        .executableTarget(
            name: "FuzzFleetList",
            dependencies: [.product(name: "SettingsStore", package: "voxbridge-dispatch")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
