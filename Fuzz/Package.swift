// swift-tools-version:6.2
import PackageDescription

// libFuzzer targets, one executable each, kept out of the main package because they link
// only with `-sanitize=fuzzer` (which supplies libFuzzer's driver). Built and run by
// `make fuzz` (scripts/fuzz.sh), never by `swift build` or `swift test` of the main
// package; they reach it through its library products.
let package = Package(
    name: "autotaint-fuzz",
    dependencies: [
        .package(name: "autotaint", path: ".."),
    ],
    targets: [
        .systemLibrary(name: "CLibFuzzer"),
        .target(name: "LibFuzzerDriver", dependencies: ["CLibFuzzer"]),

        .executableTarget(
            name: "FuzzConfig",
            dependencies: ["LibFuzzerDriver", .product(name: "AutoTaintCore", package: "autotaint")]
        ),
        .executableTarget(
            name: "FuzzDuration",
            dependencies: ["LibFuzzerDriver", .product(name: "AutoTaintCore", package: "autotaint")]
        ),
        .executableTarget(
            name: "FuzzCounters",
            dependencies: ["LibFuzzerDriver", .product(name: "AutoTaintCore", package: "autotaint")]
        ),
        .executableTarget(
            name: "FuzzPrometheus",
            dependencies: [
                "LibFuzzerDriver",
                .product(name: "AutoTaintCore", package: "autotaint"),
                .product(name: "NodeMetrics", package: "autotaint"),
            ]
        ),
        .executableTarget(
            name: "FuzzKube",
            dependencies: [
                "LibFuzzerDriver",
                .product(name: "CurlHTTP", package: "autotaint"),
                .product(name: "KubeClient", package: "autotaint"),
            ]
        ),
    ]
)
