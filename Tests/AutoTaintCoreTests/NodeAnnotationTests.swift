import Testing
@testable import AutoTaintCore

struct AnnotationCase: Sendable, CustomTestStringConvertible {
    var name: String
    var annotations: [String: String]
    var high: Double
    var low: Double
    var problems: [String]
    var testDescription: String { name }
}

@Test(arguments: [
    AnnotationCase(name: "none: the ConfigMap's", annotations: [:], high: 80, low: 60, problems: []),
    AnnotationCase(name: "high alone", annotations: ["autotaint.dev/cpu-high-percent": "90"],
                   high: 90, low: 60, problems: []),
    AnnotationCase(name: "both, with a fraction",
                   annotations: ["autotaint.dev/cpu-high-percent": "95.5", "autotaint.dev/cpu-low-percent": "70"],
                   high: 95.5, low: 70, problems: []),
    AnnotationCase(name: "not a number", annotations: ["autotaint.dev/cpu-high-percent": "ninety"], high: 80, low: 60,
                   problems: [#"autotaint.dev/cpu-high-percent: "ninety" is not a percentage from 0 to 100; ignored"#]),
    AnnotationCase(name: "out of range ignores the pair",
                   annotations: ["autotaint.dev/cpu-high-percent": "150", "autotaint.dev/cpu-low-percent": "10"],
                   high: 80, low: 60,
                   problems: [#"autotaint.dev/cpu-high-percent: "150" is not a percentage from 0 to 100; ignored"#]),
    AnnotationCase(name: "low at or above high", annotations: ["autotaint.dev/cpu-low-percent": "80"], high: 80, low: 60,
                   problems: ["autotaint.dev/cpu-low-percent, autotaint.dev/cpu-high-percent: low 80 must be below high 80; both ignored"]),
    AnnotationCase(name: "other annotations are not ours", annotations: ["autotaint.dev/cpu-high": "1", "x": "y"],
                   high: 80, low: 60, problems: []),
])
func annotationsOverrideThresholds(_ c: AnnotationCase) {
    let (config, problems) = Config().applying(annotations: c.annotations)
    #expect(config.signals.cpu.highPercent == c.high)
    #expect(config.signals.cpu.lowPercent == c.low)
    #expect(problems == c.problems)
    #expect(config.signals.memory == Config().signals.memory)
}

@Test func memoryHasItsOwnAnnotations() {
    let (config, problems) = Config().applying(annotations: ["autotaint.dev/memory-high-percent": "95"])
    #expect(problems.isEmpty)
    #expect(config.signals.memory.highPercent == 95)
    #expect(config.signals.cpu == Config().signals.cpu)
}
