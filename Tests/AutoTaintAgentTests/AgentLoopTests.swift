import AutoTaintCore
import Logging
import NodeMetrics
import Testing
@testable import AutoTaintAgent

/// Reads a fixed sequence of CPU values, one per call (the first call is the baseline read).
private struct ScriptedSampler: Sampler {
    var values: [Double]

    mutating func sample(_ signals: [SignalKind]) async -> [SignalKind: Result<Sample, NoSample>] {
        let value = values.isEmpty ? 0 : values.removeFirst()
        return [.cpu: .success(Sample(percent: value, source: .proc))]
    }
}

/// `for` and `recoverFor` of one interval take exactly two ticks each time: the tick that
/// starts the phase and the next. Timed by wake-ups instead of the schedule, each phase
/// took a third tick about half the time, so four phases in a row catch that.
@Test(.timeLimit(.minutes(1))) func phasesOfOneIntervalTakeExactlyTwoTicks() async throws {
    var config = Config()
    config.sampling.interval = .seconds(1)
    config.signals.cpu.for = .seconds(1)
    config.signals.cpu.recoverFor = .seconds(1)
    config.signals.cpu.minHold = .zero
    let high = config.signals.cpu.highPercent
    let low = config.signals.cpu.lowPercent
    // Baseline, then two high, two low, two high, two low.
    let script = [0, high, high, low, low, high, high, low, low]
    let (views, output) = AsyncStream.makeStream(of: SyncInput.self)
    let loop = AgentLoop(
        live: LiveConfig(config), adopted: [], once: false, dryRun: true,
        logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }),
        sampler: { _ in ScriptedSampler(values: script) }, output: output)
    let running = Task { try await loop.run() }
    defer { running.cancel() }
    var wanted = [Bool]()
    for await input in views {
        guard case let .tick(view, _, _) = input else { continue }
        wanted.append(!view.ownTaints.isEmpty)
        if wanted.count == script.count - 1 { break }
    }
    #expect(wanted == [false, true, true, false, false, true, true, false])
}

/// The start jitter moves the first tick (and the schedule with it) that share of an
/// interval later: agents started together spread their first writes over an interval.
@Test(.timeLimit(.minutes(1))) func theStartJitterDelaysTheFirstTickWithinOneInterval() async throws {
    var config = Config()
    config.sampling.interval = .seconds(1)
    let (views, output) = AsyncStream.makeStream(of: SyncInput.self)
    let before = ContinuousClock.now
    let loop = AgentLoop(
        live: LiveConfig(config), adopted: [], once: false, dryRun: true,
        logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }),
        sampler: { _ in ScriptedSampler(values: []) }, output: output, startJitter: 0.5)
    let running = Task { try await loop.run() }
    defer { running.cancel() }
    var ticks: [ContinuousClock.Instant] = []
    for await input in views {
        guard case let .tick(_, _, at) = input else { continue }
        ticks.append(at)
        if ticks.count == 2 { break }
    }
    // Scheduled instants, not wake-ups: one interval and a half after the loop's start,
    // which is a moment (on a busy machine, a long one) after `before`: a lower bound only.
    #expect(ticks[0] - before >= .milliseconds(1_500))
    #expect(ticks[1] - ticks[0] == .seconds(1))
}
