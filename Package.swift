// swift-tools-version:6.0
import PackageDescription

// Dependencies point down: executables -> PloyzDaemon -> sidecar engines -> PloyzStore -> NATSClient,
// WireGuard, PloyzRuntime -> PloyzModel; ployzctl -> PloyzCompose -> PloyzModel. See docs/architecture.md.
let nio: [Target.Dependency] = [
    .product(name: "NIOCore", package: "swift-nio"),
    .product(name: "NIOPosix", package: "swift-nio"),
    .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
]
let logging: Target.Dependency = .product(name: "Logging", package: "swift-log")
let metrics: [Target.Dependency] = [
    .product(name: "Metrics", package: "swift-metrics"),
    .product(name: "Prometheus", package: "swift-prometheus"),
]
let argumentParser: Target.Dependency = .product(name: "ArgumentParser", package: "swift-argument-parser")
let settings: [SwiftSetting] = [.swiftLanguageMode(.v5)]

let package = Package(
    name: "Ployz",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "ployzctl", targets: ["ployzctl"]),
        .executable(name: "ployzd", targets: ["ployzd"]),
        .executable(name: "ployz-gateway", targets: ["ployz-gateway"]),
        .executable(name: "ployz-dns", targets: ["ployz-dns"]),
        .library(name: "NATSClient", targets: ["NATSClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-http2", from: "1.46.0"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    ],
    targets: [
        // Pure logic: config, records, CIDR math, allocation, endpoint policy, keys, tokens.
        .target(name: "PloyzModel", dependencies: [
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "TOMLKit", package: "TOMLKit"),
        ], swiftSettings: settings),
        // Compose files read into workload specs: the subset Ployz runs, every other key an error with its line.
        .target(name: "PloyzCompose", dependencies: [
            "PloyzModel",
            .product(name: "Yams", package: "Yams"),
        ], swiftSettings: settings),
        // NATS + JetStream client on SwiftNIO; knows nothing of Ployz.
        .target(name: "NATSClient", dependencies: nio + [logging], swiftSettings: settings),
        // WireGuard keys/UAPI client, wireguard-go and kernel backends, addresses and routes.
        .target(name: "WireGuard", dependencies: ["PloyzModel", logging] + nio, swiftSettings: settings),
        // Typed access to the cluster's JetStream assets.
        .target(name: "PloyzStore", dependencies: ["NATSClient", "PloyzModel", logging, argumentParser], swiftSettings: settings),
        // Sidecar engines, usable as libraries: they serve a ClusterSnapshot and know nothing of NATS.
        .target(name: "PloyzGateway", dependencies: ["PloyzModel", logging] + nio + metrics + [
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "NIOHTTP2", package: "swift-nio-http2"),
            .product(name: "NIOExtras", package: "swift-nio-extras"),
        ], swiftSettings: settings),
        .target(name: "PloyzDNS", dependencies: ["PloyzModel", logging] + nio + metrics + [
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ], swiftSettings: settings),
        // Container runtime behind an engine-neutral interface; Docker Engine over its unix socket.
        .target(name: "PloyzRuntime", dependencies: ["PloyzModel", logging] + nio + [
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOFoundationCompat", package: "swift-nio"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
        ], swiftSettings: settings),
        // The daemon: API server, mesh phases, convergence, sidecar supervision.
        .target(name: "PloyzDaemon", dependencies: [
            "PloyzStore", "PloyzModel", "WireGuard", "NATSClient", "PloyzDNS", "PloyzGateway", "PloyzRuntime", logging,
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ] + nio, swiftSettings: settings),

        .executableTarget(name: "ployzctl", dependencies: ["PloyzDaemon", "PloyzModel", "PloyzCompose", argumentParser], swiftSettings: settings),
        .executableTarget(name: "ployzd", dependencies: ["PloyzDaemon", "PloyzModel", argumentParser, logging], swiftSettings: settings),
        .executableTarget(name: "ployz-gateway", dependencies: ["PloyzGateway", "PloyzStore", argumentParser, logging], swiftSettings: settings),
        .executableTarget(name: "ployz-dns", dependencies: ["PloyzDNS", "PloyzStore", argumentParser, logging], swiftSettings: settings),
        .executableTarget(name: "nats-bench", dependencies: ["NATSClient", argumentParser], swiftSettings: settings),
        .executableTarget(name: "peer-diff-bench", dependencies: ["WireGuard"], swiftSettings: settings),

        // Helpers shared by test targets (free ports); nothing else depends on it.
        .target(name: "PloyzTestSupport", swiftSettings: settings),

        .testTarget(name: "PloyzModelTests", dependencies: ["PloyzModel"], swiftSettings: settings),
        .testTarget(name: "PloyzComposeTests", dependencies: ["PloyzCompose", "PloyzModel"], swiftSettings: settings),
        .testTarget(name: "NATSClientTests", dependencies: ["NATSClient", "PloyzTestSupport"] + nio, swiftSettings: settings),
        .testTarget(name: "WireGuardTests", dependencies: ["WireGuard", "PloyzModel"], swiftSettings: settings),
        .testTarget(name: "PloyzStoreTests", dependencies: ["PloyzStore", "NATSClient", "PloyzModel", "PloyzTestSupport"], swiftSettings: settings),
        .testTarget(name: "PloyzGatewayTests", dependencies: ["PloyzGateway", "PloyzTestSupport"] + nio + [
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ], swiftSettings: settings),
        .testTarget(name: "PloyzDNSTests", dependencies: ["PloyzDNS", "PloyzTestSupport"] + nio, swiftSettings: settings),
        .testTarget(name: "PloyzRuntimeTests", dependencies: ["PloyzRuntime", "PloyzModel", "PloyzTestSupport"], swiftSettings: settings),
        .testTarget(name: "PloyzDaemonTests", dependencies: ["PloyzDaemon", "PloyzModel", "NATSClient", "PloyzRuntime", "PloyzTestSupport"], swiftSettings: settings),
    ]
)
