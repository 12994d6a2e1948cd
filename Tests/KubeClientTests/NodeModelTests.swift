import Testing
@testable import KubeClient

@Test func taintWithoutValueReadsAsEmpty() {
    #expect(Taint(key: "k", value: nil, effect: "NoSchedule").value == "")
}
