// swift-tools-version:6.2
import PackageDescription

// Product targets import FoundationEssentials at most, never Foundation: full Foundation
// adds ~12 MiB RSS on every node (product.md, "Footprint").
let package = Package(
    name: "autotaint",
    products: [
        .executable(name: "autotaint", targets: ["autotaint"]),
        // For the fuzz targets in Fuzz/, a package of its own that depends on this one.
        .library(name: "AutoTaintCore", targets: ["AutoTaintCore"]),
        .library(name: "NodeMetrics", targets: ["NodeMetrics"]),
        .library(name: "KubeClient", targets: ["KubeClient"]),
        .library(name: "CurlHTTP", targets: ["CurlHTTP"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
    ],
    targets: [
        // Debian's C libraries, each wrapped once.
        .systemLibrary(name: "CProcps", pkgConfig: "libproc2", providers: [.apt(["libproc2-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .target(name: "CCurlShim", dependencies: ["CCurl"]),
        .target(name: "CurlHTTP", dependencies: ["CCurlShim"]),
        .systemLibrary(name: "CYAML", pkgConfig: "yaml-0.1", providers: [.apt(["libyaml-dev"])]),
        .systemLibrary(name: "CMicroHTTPD", pkgConfig: "libmicrohttpd", providers: [.apt(["libmicrohttpd-dev"])]),
        .target(name: "CMicroHTTPDShim", dependencies: ["CMicroHTTPD"]),
        .target(name: "HTTPEndpoint", dependencies: ["CMicroHTTPD", "CMicroHTTPDShim"]),

        .target(name: "AgentExecutor"),
        .target(name: "YAML", dependencies: ["CYAML"]),
        .target(name: "AutoTaintCore", dependencies: ["YAML"]),
        .target(name: "NodeMetrics", dependencies: ["AutoTaintCore", "CProcps", "CurlHTTP"]),
        .target(
            name: "KubeClient",
            dependencies: [
                "AgentExecutor", "AutoTaintCore", "CurlHTTP", "YAML", .product(name: "CoreMetrics", package: "swift-metrics"),
            ]
        ),
        .target(
            name: "AutoTaintAgent",
            dependencies: [
                "AgentExecutor", "AutoTaintCore", "HTTPEndpoint", "KubeClient", "NodeMetrics",
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "autotaint",
            dependencies: [
                "AgentExecutor", "AutoTaintAgent", "AutoTaintCore", "CurlHTTP", "HTTPEndpoint", "KubeClient", "NodeMetrics",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),

        .testTarget(
            name: "AutoTaintCoreTests",
            dependencies: [
                "AutoTaintCore", "YAML",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
        .testTarget(name: "NodeMetricsTests", dependencies: ["NodeMetrics", "AutoTaintCore", "CurlHTTP"]),
        .testTarget(name: "CurlHTTPTests", dependencies: ["CurlHTTP"], exclude: ["Fixtures"]),
        .testTarget(name: "KubeClientTests", dependencies: ["KubeClient", "AutoTaintCore", "CurlHTTP"]),
        .testTarget(
            name: "AutoTaintAgentTests",
            dependencies: [
                "AutoTaintAgent", "AutoTaintCore", "KubeClient", "NodeMetrics",
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .testTarget(name: "HTTPEndpointTests", dependencies: ["HTTPEndpoint"]),
        .testTarget(name: "AgentExecutorTests", dependencies: ["AgentExecutor"]),
    ]
)
