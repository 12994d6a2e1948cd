// swift-tools-version:6.2
import PackageDescription

// libFuzzer targets, one executable each, kept out of the main package because they link
// only with `-sanitize=fuzzer` (which supplies libFuzzer's driver). Built and run by
// `make fuzz` (scripts/fuzz.sh), never by `swift build` or `swift test` of the main
// package; they reach it through its library products.

/// One fuzz target: its `Sources/<name>/main.swift` hands a function of the input bytes to
/// libFuzzer (LibFuzzerDriver) and calls the main package's `products` with them.
func fuzzTarget(_ name: String, using products: [String]) -> Target {
    .executableTarget(
        name: name,
        dependencies: ["LibFuzzerDriver"] + products.map { .product(name: $0, package: "autotaint") }
    )
}

let package = Package(
    name: "autotaint-fuzz",
    dependencies: [
        .package(name: "autotaint", path: ".."),
    ],
    targets: [
        .systemLibrary(name: "CLibFuzzer"),
        .target(name: "LibFuzzerDriver", dependencies: ["CLibFuzzer"]),

        fuzzTarget("FuzzConfig", using: ["AutoTaintCore"]),
        fuzzTarget("FuzzDuration", using: ["AutoTaintCore"]),
        fuzzTarget("FuzzCounters", using: ["AutoTaintCore"]),
        fuzzTarget("FuzzPrometheus", using: ["AutoTaintCore", "NodeMetrics"]),
        fuzzTarget("FuzzKube", using: ["CurlHTTP", "KubeClient"]),
    ]
)
