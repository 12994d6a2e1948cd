import Testing
@testable import AutoTaintCore

private let cpu = SignalConfig.cpuDefaults
private let start = ContinuousClock.now
private let thresholds = Thresholds(cpu, staleAfter: .seconds(60))

/// The state after observing `values`, one per second from `start`.
private func state(after values: [Double?], tainted: Bool = false) -> SignalState {
    var state = SignalState(startingAt: start, tainted: tainted)
    for (second, value) in values.enumerated() { state.observe(value, at: start + .seconds(second), thresholds) }
    return state
}

@Test(arguments: [
    (state(after: [42.04]), ConditionReport(
        type: "CPUPressure", status: .false, reason: "CPUUsageNormal", message: "CPU 42.0% < 80% (proc)")),
    (state(after: [85]), ConditionReport(
        type: "CPUPressure", status: .false, reason: "CPUUsageRising",
        message: "CPU 85.0% >= 80%, taint after 30s (proc)")),
    (state(after: [93.44], tainted: true), ConditionReport(
        type: "CPUPressure", status: .true, reason: "CPUUsageHigh", message: "CPU 93.4% >= 80% for 30s (proc)")),
    (state(after: [12.5], tainted: true), ConditionReport(
        type: "CPUPressure", status: .true, reason: "CPUUsageRecovering",
        message: "CPU 12.5% <= 60%, taint removed after 2m (proc)")),
])
func conditionFollowsThePhase(_ state: SignalState, _ expected: ConditionReport) {
    #expect(ConditionReport(.cpu, cpu, state, provenance: Provenance(lastSource: .proc), staleAfter: .seconds(60))
        == expected)
}

private var reportOnly: SignalConfig {
    var config = cpu
    config.enforce = false
    return config
}

/// With `enforce: false` the phases and statuses are the same; every message says the taint
/// is withheld (tainted side) or that the signal is report-only (untainted side).
@Test(arguments: [
    (state(after: [42.04]), ConditionStatus.false, "CPU 42.0% < 80% (proc); report-only (enforce: false)"),
    (state(after: [85]), .false, "CPU 85.0% >= 80%, taint after 30s (proc); report-only (enforce: false)"),
    (state(after: [93.44], tainted: true), .true, "CPU 93.4% >= 80% for 30s (proc); taint withheld (enforce: false)"),
    (state(after: [12.5], tainted: true), .true,
     "CPU 12.5% <= 60%, taint removed after 2m (proc); taint withheld (enforce: false)"),
    (state(after: [95] + Array(repeating: nil, count: 61), tainted: true), .unknown,
     "no CPU sample for 1m: no value; last CPU 95.0% (proc); taint kept; taint withheld (enforce: false)"),
])
func reportOnlyConditionSaysTheTaintIsWithheld(_ state: SignalState, _ status: ConditionStatus, _ message: String) {
    let report = ConditionReport(.cpu, reportOnly, state, provenance: Provenance(lastSource: .proc), staleAfter: .seconds(60))
    #expect(report.status == status)
    #expect(report.message == message)
    #expect(!report.enforced)
    #expect(report.reason == ConditionReport(.cpu, cpu, state, provenance: Provenance(lastSource: .proc),
                                             staleAfter: .seconds(60)).reason)
}

@Test func unknownSaysForHowLongAndWhatWasLastSeen() {
    let held = state(after: [95] + Array(repeating: nil, count: 61), tainted: true)
    #expect(held.phase == .unknown)
    let provenance = Provenance(lastSource: .prometheus, lastProblem: "prometheus timeout")
    #expect(ConditionReport(.cpu, cpu, held, provenance: provenance, staleAfter: .seconds(60)) == ConditionReport(
        type: "CPUPressure", status: .unknown, reason: "CPUUsageUnknown",
        message: "no CPU sample for 1m: prometheus timeout; last CPU 95.0% (prometheus); taint kept"))
}

@Test func thresholdsWithFractionsKeepThem() {
    var config = cpu
    config.highPercent = 82.5
    #expect(ConditionReport(.cpu, config, state(after: [1]), provenance: Provenance(lastSource: .proc),
                            staleAfter: .seconds(60)).message
        == "CPU 1.0% < 82.5% (proc)")
}

@Test func desiredViewHasTheTaintsOfTaintedSignalsOnly() {
    var config = Config()
    config.signals.memory.enabled = true
    let view = DesiredNodeView(
        config, states: [.cpu: state(after: [99], tainted: true), .memory: state(after: [10])],
        provenance: [.cpu: Provenance(lastSource: .proc), .memory: Provenance(lastSource: .proc)])
    #expect(view.ownTaints == [config.signals.cpu.taint])
    #expect(view.conditions.map(\.type) == ["CPUPressure", "MemoryUsagePressure"])
    #expect(view.conditions.map(\.status) == [.true, .false])
}

@Test func desiredViewWithholdsTheTaintOfAReportOnlySignal() {
    var config = Config()
    config.signals.memory.enabled = true
    config.signals.cpu.enforce = false
    let view = DesiredNodeView(
        config, states: [.cpu: state(after: [99], tainted: true), .memory: state(after: [99], tainted: true)],
        provenance: [.cpu: Provenance(lastSource: .proc), .memory: Provenance(lastSource: .proc)])
    #expect(view.ownTaints == [config.signals.memory.taint])
    #expect(view.conditions.map(\.status) == [.true, .true])
}

private func report(_ status: ConditionStatus, _ message: String = "m") -> ConditionReport {
    ConditionReport(type: "CPUPressure", status: status, reason: "r", message: message)
}

@Test func conditionIsWrittenOnStatusChangeAndHeartbeatOnly() {
    var ledger = ConditionLedger()
    let heartbeat = Duration.seconds(300)
    #expect(ledger.due([report(.false)], at: start, heartbeat: heartbeat) == [report(.false)])
    ledger.recordWritten([report(.false)], at: start)
    #expect(ledger.due([report(.false, "other value")], at: start + .seconds(299), heartbeat: heartbeat).isEmpty)
    #expect(ledger.due([report(.true)], at: start + .seconds(1), heartbeat: heartbeat) == [report(.true)])
    #expect(ledger.due([report(.false, "now")], at: start + .seconds(300), heartbeat: heartbeat)
        == [report(.false, "now")])
}

@Test func aSwitchBetweenEnforcedAndReportOnlyIsWrittenAtOnce() {
    var ledger = ConditionLedger()
    let heartbeat = Duration.seconds(300)
    ledger.recordWritten([report(.true)], at: start)
    var withheld = report(.true, "m; taint withheld (enforce: false)")
    withheld.enforced = false
    #expect(ledger.due([withheld], at: start + .seconds(1), heartbeat: heartbeat) == [withheld])
    ledger.recordWritten([withheld], at: start + .seconds(1))
    #expect(ledger.due([withheld], at: start + .seconds(2), heartbeat: heartbeat).isEmpty)
    #expect(ledger.due([report(.true)], at: start + .seconds(2), heartbeat: heartbeat) == [report(.true)])
}

@Test func aNoteIsWrittenWhenItAppearsAndDropsAtTheHeartbeat() {
    var ledger = ConditionLedger()
    let heartbeat = Duration.seconds(300)
    ledger.recordWritten([report(.false)], at: start)
    var noted = report(.false, "CPU stall 0.0% < 40% (proc); CPU stall 83.0% at CPU usage 9.0% …")
    noted.hasNote = true
    #expect(ledger.due([noted], at: start + .seconds(1), heartbeat: heartbeat) == [noted])
    ledger.recordWritten([noted], at: start + .seconds(1))
    #expect(ledger.due([noted], at: start + .seconds(2), heartbeat: heartbeat).isEmpty)
    #expect(ledger.due([report(.false)], at: start + .seconds(3), heartbeat: heartbeat).isEmpty)
    #expect(ledger.due([report(.false)], at: start + .seconds(301), heartbeat: heartbeat) == [report(.false)])
}

@Test func theGateNoteFollowsTheConditionMessage() {
    let contention = SignalConfig.cpuContentionDefaults
    let note = "CPU stall 83.0% at CPU usage 9.0% (below minUsagePercent 50%): CFS throttling, not contention"
    let report = ConditionReport(.cpuContention, contention, state(after: [0]),
                                 provenance: Provenance(lastSource: .proc, note: note), staleAfter: .seconds(60))
    #expect(report == ConditionReport(
        type: "CPUContention", status: .false, reason: "CPUContentionNormal",
        message: "CPU stall 0.0% < 40% (proc); \(note)", hasNote: true))
}

@Test func aSignalThatCannotBeReadSaysWhyWithoutAStaleDuration() {
    var unavailable = SignalState(startingAt: start)
    unavailable.observeUnavailable(at: start + .seconds(1))
    let why = "proc: no_psi: /proc/pressure/cpu does not exist: the kernel has no PSI (…)"
    let report = ConditionReport(.cpuContention, SignalConfig.cpuContentionDefaults, unavailable,
                                 provenance: Provenance(lastProblem: why, unavailable: true), staleAfter: .seconds(60))
    #expect(report.status == .unknown && report.reason == "CPUContentionUnknown")
    #expect(report.message == "no CPU stall sample: \(why); last CPU stall n/a (no source); no taint")
}

@Test func aFailedWriteIsDueAgain() {
    var ledger = ConditionLedger()
    ledger.recordWritten([report(.false)], at: start)
    let due = ledger.due([report(.true)], at: start + .seconds(1), heartbeat: .seconds(300))
    // Not recorded: the write failed.
    #expect(ledger.due([report(.true)], at: start + .seconds(2), heartbeat: .seconds(300)) == due)
    #expect(ledger.lastStatus(of: "CPUPressure") == .false)
}

@Test func theLedgerSaysWhenTheFirstHeartbeatIsDue() {
    let cpu = ConditionReport(type: "CPUPressure", status: .false, reason: "CPUUsageNormal", message: "m")
    let memory = ConditionReport(type: "MemoryPressure", status: .false, reason: "MemoryUsageNormal", message: "m")
    let start = ContinuousClock.now
    var ledger = ConditionLedger()
    #expect(ledger.nextHeartbeat(of: [cpu], heartbeat: .seconds(300)) == nil)
    ledger.recordWritten([cpu], at: start)
    ledger.recordWritten([memory], at: start + .seconds(10))
    #expect(ledger.nextHeartbeat(of: [cpu, memory], heartbeat: .seconds(300)) == start + .seconds(300))
    #expect(ledger.nextHeartbeat(of: [memory], heartbeat: .seconds(300)) == start + .seconds(310))
    let gpu = ConditionReport(type: "GPUPressure", status: .false, reason: "r", message: "m")
    #expect(ledger.nextHeartbeat(of: [cpu, gpu], heartbeat: .seconds(300)) == nil)
}

@Test func viewsWithTheSameOutlineDifferOnlyInMessages() {
    let normal = ConditionReport(type: "CPUPressure", status: .false, reason: "CPUUsageNormal", message: "CPU 1%")
    var other = normal
    other.message = "CPU 2%"
    let base = DesiredNodeView(ownTaints: [], conditions: [normal])
    #expect(base.hasSameOutline(as: DesiredNodeView(ownTaints: [], conditions: [other])))
    var changes: [(inout ConditionReport) -> Void] = [
        { $0.status = .true }, { $0.reason = "NoSample" }, { $0.enforced.toggle() }, { $0.hasNote.toggle() },
        { $0.type = "MemoryPressure" },
    ]
    for change in changes.indices {
        var report = normal
        changes[change](&report)
        #expect(!base.hasSameOutline(as: DesiredNodeView(ownTaints: [], conditions: [report])))
    }
    changes.removeAll()
    #expect(!base.hasSameOutline(as: DesiredNodeView(ownTaints: [Config().signals.cpu.taint], conditions: [normal])))
    #expect(!base.hasSameOutline(as: DesiredNodeView(ownTaints: [], conditions: [normal, normal])))
}
