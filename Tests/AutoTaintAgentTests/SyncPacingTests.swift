import AutoTaintCore
import Testing
@testable import AutoTaintAgent

private let start = ContinuousClock.now
private func at(_ seconds: Int) -> Instant { start + .seconds(seconds) }

private func view(_ status: ConditionStatus, reason: String = "CPUUsageNormal", message: String = "CPU 1%") -> DesiredNodeView {
    DesiredNodeView(
        ownTaints: status == .true ? [Config().signals.cpu.taint] : [],
        conditions: [ConditionReport(type: "CPUPressure", status: status, reason: reason, message: message)])
}

@Test func withoutAPromiseEveryViewIsATick() {
    let pacing = SyncPacing()
    #expect(pacing.publish(view(.false), Config(), at: at(0)))
    #expect(pacing.publish(view(.false), Config(), at: at(1)))
}

@Test func aPromiseHoldsOnlyForTheSameOutlineConfigAndTime() {
    let pacing = SyncPacing()
    pacing.promise(quietUntil: at(300), for: view(.false), Config())
    // Only the message differs: no tick.
    #expect(!pacing.publish(view(.false, message: "CPU 2%"), Config(), at: at(1)))
    #expect(pacing.newest?.view.conditions.first?.message == "CPU 2%")
    // The status, the reason, the config or the heartbeat: a tick.
    #expect(pacing.publish(view(.true, reason: "CPUUsageHigh"), Config(), at: at(2)))
    #expect(pacing.publish(view(.false, reason: "NoSample"), Config(), at: at(3)))
    var changed = Config()
    changed.signals.cpu.highPercent = 70
    #expect(pacing.publish(view(.false), changed, at: at(4)))
    #expect(pacing.publish(view(.false), Config(), at: at(300)))
    pacing.promise(quietUntil: nil, for: view(.false), Config())
    #expect(pacing.publish(view(.false), Config(), at: at(5)))
}
