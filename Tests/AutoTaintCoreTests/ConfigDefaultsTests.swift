import Testing
@testable import AutoTaintCore

@Test func defaultSignalsAreCPUOnly() {
    #expect(Config().signals.enabled == [.cpu])
}
