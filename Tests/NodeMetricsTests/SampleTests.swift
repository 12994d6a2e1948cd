import AutoTaintCore
import Testing
@testable import NodeMetrics

@Test func noSampleDescriptionNamesSourceAndReason() {
    let reason = NoSample(source: .proc, reason: "counter_reset", detail: "total went backwards")
    #expect(reason.description == "proc: counter_reset: total went backwards")
}

/// A sampler that answers with fixed readings.
private struct Fixed: Sampler {
    var results: [SignalKind: Result<Sample, NoSample>]
    func sample(_ signals: [SignalKind]) async -> [SignalKind: Result<Sample, NoSample>] { results }
}

@Test func readingsPassCPUStallThroughTheThrottlingGate() async {
    var config = Config()
    config.signals.cpuContention.enabled = true
    var throttled = Fixed(results: [.cpuContention: .success(Sample(percent: 83, source: .proc, cpuUsagePercent: 9))])
    let gated = try? await throttled.readings(config)[.cpuContention]?.get()
    #expect(gated?.percent == 0)
    #expect(gated?.note == "CPU stall 83.0% at CPU usage 9.0% (below minUsagePercent 50%): CFS throttling, not contention")
    var contended = Fixed(results: [.cpuContention: .success(Sample(percent: 83, source: .proc, cpuUsagePercent: 100))])
    let passed = try? await contended.readings(config)[.cpuContention]?.get()
    #expect(passed?.percent == 83 && passed?.note == nil)
}

@Test func aSourceThatCannotServeASignalMakesItUnknownAtOnce() {
    let start = ContinuousClock.now
    var state = SignalState(startingAt: start, tainted: true)
    let thresholds = Thresholds(.cpuContention, in: Config())
    state.observe(.failure(NoSample(source: .proc, reason: "timeout", detail: "")), at: start + .seconds(1), thresholds)
    #expect(state.phase == .pressure)
    state.observe(.failure(NoSample(source: .proc, reason: NoSample.noPSI, detail: "")), at: start + .seconds(2), thresholds)
    #expect(state.phase == .unknown && state.tainted)
}

@Test func provenanceKeepsTheLastSourceAndSaysWhyTicksHadNoValue() {
    var provenance = Provenance()
    provenance.record(.success(Sample(percent: 1, source: .proc, note: "gated")))
    #expect(provenance == Provenance(lastSource: .proc, note: "gated"))
    provenance.record(.failure(NoSample(source: .prometheus, reason: "timeout", detail: "5s")))
    #expect(provenance == Provenance(lastSource: .proc, lastProblem: "prometheus timeout", note: "gated"))
    let noPSI = NoSample(source: .proc, reason: NoSample.noPSI, detail: "no /proc/pressure/cpu; boot with psi=1")
    provenance.record(.failure(noPSI))
    #expect(provenance.lastProblem == noPSI.description && provenance.unavailable)
    provenance.record(.success(Sample(percent: 2, source: .proc)))
    #expect(provenance == Provenance(lastSource: .proc))
}
