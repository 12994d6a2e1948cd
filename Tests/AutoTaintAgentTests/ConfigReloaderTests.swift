import AutoTaintCore
import Foundation
import KubeClient
import Logging
import NodeMetrics
import Synchronization
import Testing
@testable import AutoTaintAgent

/// A config file in a directory of its own, removed by `remove()`.
private struct ConfigFixture {
    let directory: URL
    var path: String { directory.appendingPathComponent("config.yaml").path }

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("reloader-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    func write(_ text: String) throws {
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    func remove() {
        try? FileManager.default.removeItem(at: directory)
    }
}

/// What a reloader reported: the Events it sent and the outcomes `onReload` heard.
private final class ReloadRecord: Sendable {
    let events: AsyncStream<SyncInput>
    let continuation: AsyncStream<SyncInput>.Continuation
    private let outcomes = Mutex<[Bool]>([])

    init() {
        (events, continuation) = AsyncStream.makeStream(of: SyncInput.self)
    }

    func heard(_ applied: Bool) { outcomes.withLock { $0.append(applied) } }
    var heardOutcomes: [Bool] { outcomes.withLock { $0 } }

    /// The reasons of the Events sent so far (ends the stream).
    func reasons() async -> [String] {
        continuation.finish()
        var reasons = [String]()
        for await input in events {
            if case let .announce(event) = input { reasons.append(event.reason) }
        }
        return reasons
    }
}

private let quiet = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

private func reloader(
    _ fixture: ConfigFixture, applied: String?, live: LiveConfig, record: ReloadRecord, useInotify: Bool
) -> ConfigReloader {
    ConfigReloader(path: fixture.path, applied: applied, live: live, logger: quiet, events: record.continuation,
                   onReload: { record.heard($0) }, useInotify: useInotify)
}

/// With inotify, and with stamps only.
@Test(arguments: [true, false]) func anUnchangedFileIsNotReloaded(useInotify: Bool) async throws {
    let fixture = try ConfigFixture()
    defer { fixture.remove() }
    let text = "signals:\n  cpu: {highPercent: 70, lowPercent: 50}\n"
    try fixture.write(text)
    let live = LiveConfig(try ConfigFile.parse(text, path: fixture.path))
    let record = ReloadRecord()
    var subject = reloader(fixture, applied: text, live: live, record: record, useInotify: useInotify)
    subject.check()
    subject.check()
    #expect(live.current.signals.cpu.highPercent == 70)
    #expect(record.heardOutcomes.isEmpty)
    #expect(await record.reasons().isEmpty)
}

/// With inotify, and with stamps only.
@Test(arguments: [true, false]) func aChangedValidFileReplacesTheConfigOnce(useInotify: Bool) async throws {
    let fixture = try ConfigFixture()
    defer { fixture.remove() }
    try fixture.write("signals:\n  cpu: {highPercent: 70, lowPercent: 50}\n")
    let live = LiveConfig(Config())
    let record = ReloadRecord()
    var subject = reloader(fixture, applied: "", live: live, record: record, useInotify: useInotify)
    subject.check()
    subject.check()
    #expect(live.current.signals.cpu.highPercent == 70)
    #expect(record.heardOutcomes == [true])
    #expect(await record.reasons() == ["ConfigReloaded"])
}

/// With inotify, and with stamps only.
@Test(arguments: [true, false]) func anInvalidFileKeepsTheLastGoodConfigAndIsRejectedOnce(useInotify: Bool) async throws {
    let fixture = try ConfigFixture()
    defer { fixture.remove() }
    try fixture.write("signals:\n  cpu: {highPercent: 70, lowPercent: 50}\n")
    let live = LiveConfig(Config())
    let record = ReloadRecord()
    var subject = reloader(fixture, applied: nil, live: live, record: record, useInotify: useInotify)
    subject.check()
    try fixture.write("signals:\n  cpu: {highPercent: 170, lowPercent: 50}\n")
    subject.check()
    subject.check()
    #expect(live.current.signals.cpu.highPercent == 70)
    #expect(record.heardOutcomes == [true, false])
    #expect(await record.reasons() == ["ConfigReloaded", "ConfigRejected"])
}

/// With inotify, and with stamps only.
@Test(arguments: [true, false]) func aFileThatCannotBeReadKeepsTheConfigUntilItCanBe(useInotify: Bool) async throws {
    let fixture = try ConfigFixture()
    defer { fixture.remove() }
    let live = LiveConfig(Config())
    let record = ReloadRecord()
    var subject = reloader(fixture, applied: "", live: live, record: record, useInotify: useInotify)
    subject.check()
    #expect(live.current == Config())
    try fixture.write("signals:\n  cpu: {highPercent: 60, lowPercent: 50}\n")
    subject.check()
    #expect(live.current.signals.cpu.highPercent == 60)
    #expect(await record.reasons() == ["ConfigReloaded"])
}

/// The loop checks the file at the start of each tick: the tick that follows a change is
/// already made with the new config.
@Test(.timeLimit(.minutes(1))) func theLoopAppliesAChangedFileOnTheTickThatNoticesIt() async throws {
    let fixture = try ConfigFixture()
    defer { fixture.remove() }
    let text = "sampling: {interval: 1s}\nsignals:\n  cpu: {highPercent: 70, lowPercent: 50}\n"
    try fixture.write(text)
    let live = LiveConfig(try ConfigFile.parse(text, path: fixture.path))
    let (views, output) = AsyncStream.makeStream(of: SyncInput.self)
    let loop = AgentLoop(
        live: live, adopted: [], once: false, dryRun: true, logger: quiet,
        sampler: { _ in ScriptedCPU() }, output: output,
        reloader: ConfigReloader(path: fixture.path, applied: text, live: live, logger: quiet, events: output))
    let running = Task { try await loop.run() }
    defer { running.cancel() }
    var thresholds = [Double]()
    for await input in views {
        guard case let .tick(_, config, _) = input else { continue }
        thresholds.append(config.signals.cpu.highPercent)
        if thresholds.count == 1 { try fixture.write("sampling: {interval: 1s}\nsignals:\n  cpu: {highPercent: 65, lowPercent: 50}\n") }
        if thresholds.count == 2 { break }
    }
    #expect(thresholds == [70, 65])
}

private struct ScriptedCPU: Sampler {
    mutating func sample(_ signals: [SignalKind]) async -> [SignalKind: Result<Sample, NoSample>] {
        [.cpu: .success(Sample(percent: 10, source: .proc))]
    }
}
