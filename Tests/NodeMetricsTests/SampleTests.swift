import Testing
@testable import NodeMetrics

@Test func noSampleDescriptionNamesSourceAndReason() {
    let reason = NoSample(source: .proc, reason: "counter_reset", detail: "total went backwards")
    #expect(reason.description == "proc: counter_reset: total went backwards")
}
