// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "voxbridge-dispatch",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "voxbridge-dispatch", targets: ["VoxBridgeDispatch"]),
        .library(name: "FleetPicker", targets: ["FleetPicker"]),
        .library(name: "HealthProber", targets: ["HealthProber"]),
        .library(name: "SettingsStore", targets: ["SettingsStore"]),
        .library(name: "DispatchClient", targets: ["DispatchClient"]),
        .library(name: "DispatchCluster", targets: ["DispatchCluster"]),
        .library(name: "IngressSync", targets: ["IngressSync"]),
        .executable(name: "voxcore-sim", targets: ["VoxcoreSim"]),
        .executable(name: "voxbridge-bench", targets: ["VoxbridgeBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
    ],
    targets: [
        // System libraries.
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),

        // Libraries.
        .target(name: "FleetPicker"),
        .target(
            name: "HealthProber",
            dependencies: ["CCurl"]
        ),
        .target(
            name: "SettingsStore",
            dependencies: ["CSQLite"]
        ),
        .target(
            name: "PostgresSettingsStore",
            dependencies: [
                "SettingsStore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),

        // The cluster: the lease as a pure state machine and its PostgreSQL driver, and beside them
        // the runtime (coordinator, path, forwarder, replicator), each on an injected clock.
        .target(
            name: "DispatchCluster",
            dependencies: [
                "FleetPicker",
                "SettingsStore",
                "PostgresSettingsStore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),

        // The HAProxy ingress kept in step with the list: the planner (pure), the Runtime API
        // client, the servers file, the list sources and the sync loop.
        .target(
            name: "IngressSync",
            dependencies: [
                "SettingsStore",
                "HealthProber",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),

        // The connection layer: limits, timeouts and accept pacing on NIO and Hummingbird's HTTP/1
        // channel; no type of the service.
        .target(
            name: "DispatchHTTPServer",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),

        // What the service counts: the Prometheus registry, its counters and gauges.
        .target(
            name: "ServiceMetrics",
            dependencies: [
                "FleetPicker",
                "DispatchHTTPServer",
                "DispatchCluster",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),

        // The callers' client: the dialout protocol over HTTP; shares only the wire format with the service.
        .target(
            name: "DispatchClient",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),

        // The executable.
        .executableTarget(
            name: "VoxBridgeDispatch",
            dependencies: [
                "FleetPicker",
                "HealthProber",
                "SettingsStore",
                "PostgresSettingsStore",
                "DispatchCluster",
                "DispatchHTTPServer",
                "ServiceMetrics",
                "IngressSync",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            // The operator's page, and the version `--version` prints, compiled into the binary.
            resources: [
                .embedInCode("Page/operator.html"), .embedInCode("Page/operator.js"),
                .embedInCode("Page/operator.css"), .embedInCode("Page/icon.svg"),
                .embedInCode("Version/VERSION"), .embedInCode("Version/build"),
            ]
        ),

        // Benchmarks (release builds; see docs/BENCHMARKS.md).
        .executableTarget(name: "PickerBench", dependencies: ["FleetPicker"], path: "Benchmarks/PickerBench"),
        .executableTarget(name: "ProberBench", dependencies: ["HealthProber"], path: "Benchmarks/ProberBench"),

        // Load tools: the simulated fleet and the load generator (see docs/BENCHMARKS.md, "Load scenarios").
        .target(
            name: "LoadKit",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Benchmarks/LoadKit"
        ),
        .executableTarget(
            name: "VoxcoreSim",
            dependencies: [
                "LoadKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Benchmarks/VoxcoreSim"
        ),
        .executableTarget(
            name: "VoxbridgeBench",
            dependencies: [
                "LoadKit",
                "HealthProber",
                "DispatchClient",
                // The nemesis's stalling proxy in front of PostgreSQL.
                "DispatchTestSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Benchmarks/VoxbridgeBench"
        ),

        // Tests: one target per module.
        .testTarget(
            name: "FleetPickerTests",
            dependencies: [
                "FleetPicker",
                "DispatchTestSupport",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
        // FleetPicker only for its seeded random source, which the fuzz tests replay from.
        .testTarget(name: "HealthProberTests", dependencies: ["HealthProber", "FleetPicker", "DispatchTestSupport"]),
        .testTarget(
            name: "SettingsStoreTests",
            dependencies: ["SettingsStore", "PostgresSettingsStore", "DispatchTestSupport", "FleetPicker"]
        ),
        // What the test targets share: a PostgreSQL server (the shared one `make test` starts, or a
        // private one), a mock instant and clock, temporary folders, child processes and a small
        // HTTP server. No module of the service, so any test target may depend on it.
        .target(
            name: "DispatchTestSupport",
            dependencies: [
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/DispatchTestSupport"
        ),
        .testTarget(
            name: "BenchmarkToolsTests",
            dependencies: [
                "LoadKit",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
            ]
        ),
        .testTarget(
            name: "DispatchHTTPServerTests",
            dependencies: [
                "DispatchHTTPServer",
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),
        .testTarget(name: "IngressSyncTests", dependencies: ["IngressSync", "DispatchTestSupport"]),
        .testTarget(name: "DispatchClusterTests", dependencies: ["DispatchCluster", "DispatchTestSupport"]),
        // Runs the built voxbridge-dispatch and voxcore-sim as child processes; no service module.
        .testTarget(name: "DispatchClientTests", dependencies: ["DispatchClient", "DispatchTestSupport"]),
        .testTarget(
            name: "VoxBridgeDispatchTests",
            dependencies: [
                "VoxBridgeDispatch",
                "PostgresSettingsStore",
                "IngressSync",
                "DispatchTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
