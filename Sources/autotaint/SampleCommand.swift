import AgentExecutor
import ArgumentParser
import AutoTaintAgent
import AutoTaintCore
import FoundationEssentials
import Glibc
import NodeMetrics

struct SampleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample",
        abstract: "Print what the agent would see, one line per sample. No cluster needed.",
        discussion: "Each line: time, source, then for each enabled signal its usage and the "
            + "hysteresis state the agent would be in."
    )

    @OptionGroup var config: ConfigOption

    @Option(help: "Where samples come from: proc, prometheus or auto. Default: the config's.")
    var source: SourceMode?

    @Option(help: "Time between samples, at least 1s (e.g. 1s, 5s). Default: the config's.")
    var interval: String?

    @Option(help: "Stop after this many samples. Default: until interrupted.")
    var count: Int?

    @OptionGroup var log: LogOptions

    func validate() throws {
        if let count, count < 1 { throw ValidationError("--count must be at least 1") }
    }

    func run() async throws {
        let logger = log.bootstrap()
        var settings = try config.load()
        if let source { settings.sampling.source = source }
        if let interval {
            do {
                settings.sampling.interval = try Duration(kubernetes: interval)
            } catch {
                printError("--interval: \(interval): \(error)")
                throw ExitCode(1)
            }
        }
        guard settings.sampling.interval >= .seconds(1) else {
            printError("--interval: \(interval ?? "") is below 1s; libproc2 reads /proc at most once a second")
            throw ExitCode(1)
        }
        let signals = settings.signals.enabled
        var sampler = makeSampler(for: settings, node: configuredNodeName(settings) ?? hostName()) { change in
            change.log(to: logger)
        }
        let clock = ContinuousClock()
        let start = clock.now
        var states = [SignalKind: SignalState]()
        for signal in signals { states[signal] = SignalState(startingAt: start) }
        _ = await sampler.sample(signals)
        var printed = 0
        var schedule = TickSchedule(startingAt: start)
        while count.map({ printed < $0 }) ?? true {
            let now = schedule.next(every: settings.sampling.interval, now: clock.now)
            try await ExecutorClock().sleep(until: now)
            let results = await sampler.readings(settings)
            let source = signals.lazy.compactMap { try? results[$0]?.get().source }.first
            var line = Date.now.formatted(Date.ISO8601FormatStyle()) + " " + (source?.rawValue ?? "none")
            for signal in signals {
                let result = results[signal] ?? .failure(.notSampled)
                let value = try? result.get()
                var state = states[signal, default: SignalState(startingAt: start)]
                state.observe(result, at: now, Thresholds(signal, in: settings))
                states[signal] = state
                let shown = value.map { oneDecimal($0.percent) + "%" } ?? "n/a"
                line += " \(signal.rawValue) \(shown) \(state.phase.rawValue)"
                if case let .failure(noSample) = result { line += " (\(noSample.reason): \(noSample.detail))" }
                if let note = value?.note { line += " (\(note))" }
            }
            writeLine(line, to: STDOUT_FILENO)
            printed += 1
        }
    }
}

extension SourceMode: ExpressibleByArgument {}
