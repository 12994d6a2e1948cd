import AutoTaintCore
import Synchronization
import Testing
@testable import NodeMetrics

/// Answers from a script, one entry per call; counts its calls.
private final class Scripted: Sampler {
    var script: [Result<Sample, NoSample>]
    var calls = 0
    let memory: Result<Sample, NoSample>?

    init(_ script: [Result<Sample, NoSample>], memory: Result<Sample, NoSample>? = nil) {
        self.script = script
        self.memory = memory
    }

    func sample(_ signals: [SignalKind]) async -> [SignalKind: Result<Sample, NoSample>] {
        calls += 1
        var results: [SignalKind: Result<Sample, NoSample>] = [:]
        if signals.contains(.cpu) { results[.cpu] = script.isEmpty ? proc(0) : script.removeFirst() }
        if signals.contains(.memory), let memory { results[.memory] = memory }
        return results
    }
}

private final class Switches: Sendable {
    let seen = Mutex<[SourceSwitch]>([])
    var all: [SourceSwitch] { seen.withLock { $0 } }
    var callback: @Sendable (SourceSwitch) -> Void { { change in self.seen.withLock { $0.append(change) } } }
}

private func proc(_ percent: Double) -> Result<Sample, NoSample> { .success(Sample(percent: percent, source: .proc)) }
private func prom(_ percent: Double) -> Result<Sample, NoSample> { .success(Sample(percent: percent, source: .prometheus)) }
private func miss(_ source: SampleSource, _ reason: String) -> Result<Sample, NoSample> {
    .failure(NoSample(source: source, reason: reason, detail: "\(reason) detail"))
}
private let readFailed = miss(.proc, "read_failed")

@Test func procAnswersAndPrometheusIsNotAsked() async throws {
    let primary = Scripted([proc(10), proc(11)])
    let secondary = Scripted([prom(50)])
    let switches = Switches()
    var sampler = FallbackSampler(primary: primary, secondary: secondary, onSwitch: switches.callback)
    #expect(try await sampler.sample([.cpu])[.cpu]?.get() == Sample(percent: 10, source: .proc))
    #expect(try await sampler.sample([.cpu])[.cpu]?.get() == Sample(percent: 11, source: .proc))
    #expect(secondary.calls == 0)
    #expect(switches.all.isEmpty)
}

@Test func passingProcMissesAreNotAFallback() async {
    let primary = Scripted([miss(.proc, "no_previous_read"), miss(.proc, "counter_reset"), proc(3)])
    let secondary = Scripted([])
    let switches = Switches()
    var sampler = FallbackSampler(primary: primary, secondary: secondary, onSwitch: switches.callback)
    for _ in 0..<3 { _ = await sampler.sample([.cpu]) }
    #expect(secondary.calls == 0)
    #expect(switches.all.isEmpty)
    #expect(sampler.inUse == .proc)
}

@Test func aFailedReadSwitchesOnceAndBackWhenProcGivesValuesAgain() async {
    // tick:      1         2           3           4                   5         6
    let primary = Scripted([proc(10), readFailed, readFailed, miss(.proc, "no_previous_read"), proc(12), proc(13)])
    let secondary = Scripted([prom(50), prom(51), prom(52)])
    let switches = Switches()
    var sampler = FallbackSampler(primary: primary, secondary: secondary, onSwitch: switches.callback)
    var seen: [Sample?] = []
    for _ in 0..<6 { seen.append(try? await sampler.sample([.cpu])[.cpu]?.get()) }
    #expect(seen == [
        Sample(percent: 10, source: .proc), Sample(percent: 50, source: .prometheus),
        Sample(percent: 51, source: .prometheus), Sample(percent: 52, source: .prometheus),
        Sample(percent: 12, source: .proc), Sample(percent: 13, source: .proc),
    ])
    #expect(secondary.calls == 3)
    #expect(switches.all == [
        SourceSwitch(from: .proc, to: .prometheus, reason: "read_failed", detail: "read_failed detail"),
        SourceSwitch(from: .prometheus, to: .proc, reason: "proc_recovered", detail: "/proc gives CPU values again"),
    ])
    #expect(sampler.inUse == .proc)
}

@Test func whenBothFailTheAnswerSaysWhy() async {
    let primary = Scripted([readFailed, readFailed])
    let secondary = Scripted([miss(.prometheus, "timeout"), miss(.prometheus, "unreachable")])
    let switches = Switches()
    var sampler = FallbackSampler(primary: primary, secondary: secondary, onSwitch: switches.callback)
    for expected in ["timeout", "unreachable"] {
        let result = await sampler.sample([.cpu])[.cpu]
        guard case let .failure(noSample)? = result else { Issue.record("got \(String(describing: result))"); continue }
        #expect(noSample.source == .prometheus)
        #expect(noSample.reason == expected)
        #expect(noSample.detail == "\(expected) detail (fallback from proc: read_failed: read_failed detail)")
    }
    #expect(switches.all.count == 1)
    #expect(sampler.inUse == .prometheus)
}

@Test func memoryStaysWithProcAndPrometheusIsAskedAboutCPUOnly() async throws {
    let memory = Sample(percent: 40, source: .proc)
    let primary = Scripted([readFailed], memory: .success(memory))
    let secondary = Scripted([prom(70)], memory: miss(.prometheus, "not_from_prometheus"))
    var sampler = FallbackSampler(primary: primary, secondary: secondary, onSwitch: { _ in })
    let results = await sampler.sample([.cpu, .memory])
    #expect(try results[.cpu]?.get() == Sample(percent: 70, source: .prometheus))
    #expect(try results[.memory]?.get() == memory)
}

@Test func theFactoryPicksTheSamplerTheConfigAsksFor() {
    var config = Config()
    config.sampling.source = .proc
    #expect(makeSampler(for: config, node: "n") is ProcSampler)
    config.sampling.source = .auto
    #expect(makeSampler(for: config, node: "n") is ProcSampler, "auto without a URL is /proc only")
    config.prometheus.url = "http://127.0.0.1:9"
    #expect(makeSampler(for: config, node: "n") is FallbackSampler<ProcSampler, PrometheusSampler>)
    config.sampling.source = .prometheus
    #expect(makeSampler(for: config, node: "n") is PrometheusSampler)
}
