import AgentExecutor
import AutoTaintCore
import Logging
import NodeMetrics
import ServiceLifecycle

/// The agent's sampling loop as a swift-service-lifecycle `Service`: once per
/// `sampling.interval` it samples the enabled signals, advances each signal's hysteresis
/// and sends the resulting view of the Node to `NodeSync` (with `SyncPacing`, only when
/// NodeSync has work with it; every view is published there). Each tick first lets the
/// `ConfigReloader` look at the config file, then reads the `LiveConfig`, so a changed
/// config applies on the tick that notices it, with the states kept.
///
/// `run` returns after one pass with `once`, or when a graceful shutdown is requested
/// (SIGTERM/SIGINT through the `ServiceGroup`); it then sends `.stopping` with the
/// conditions as last observed (NodeSync's `StopPlan` says what becomes of them). Either
/// way it ends the view stream last, which is what lets `NodeSync` finish.
public struct AgentLoop: Service {
    private let live: LiveConfig
    private let adopted: Set<SignalKind>
    private let once: Bool
    private let dryRun: Bool
    private let logger: Logger
    private let makeSampler: @Sendable (Config) -> any Sampler
    private let output: AsyncStream<SyncInput>.Continuation
    private let metrics: AgentMetrics?
    private let health: AgentHealth?
    private let reloader: ConfigReloader?
    private let pacing: SyncPacing?
    private let startJitter: Double

    /// A sampler holds per-task state, so the loop makes its own in `run` (and a new one
    /// when a reload changes `sampling` or `prometheus`). `adopted`: the signals whose
    /// taint is already on the Node at start. `metrics` hears each signal's outcome per
    /// tick; `health` each tick (for `/healthz`). Without a `reloader` the config changes
    /// only through `live` (node annotations). With `pacing`, a tick's view goes to
    /// NodeSync only when NodeSync needs it (`SyncPacing`); without, every one does.
    /// `startJitter` in 0..<1 moves the first tick (and so the first Node write, and every
    /// tick after it) that share of an interval later, so agents started together (a fresh
    /// install, a node pool coming up) do not write in the same second.
    public init(
        live: LiveConfig, adopted: Set<SignalKind>, once: Bool, dryRun: Bool, logger: Logger,
        sampler: @escaping @Sendable (Config) -> any Sampler, output: AsyncStream<SyncInput>.Continuation,
        metrics: AgentMetrics? = nil, health: AgentHealth? = nil, reloader: ConfigReloader? = nil,
        pacing: SyncPacing? = nil, startJitter: Double = 0
    ) {
        self.live = live
        self.adopted = adopted
        self.once = once
        self.dryRun = dryRun
        self.logger = logger
        makeSampler = sampler
        self.output = output
        self.metrics = metrics
        self.health = health
        self.reloader = reloader
        self.pacing = pacing
        self.startJitter = min(max(startJitter, 0), 1)
    }

    public func run() async throws {
        defer { output.finish() }
        // Once for the whole run, not around each sleep (a task group with two child tasks
        // per tick, and their thread wake-ups): a graceful shutdown cancels the sampling,
        // which ends its sleep, or the tick in progress, and sends `.stopping`.
        await cancelWhenGracefulShutdown { await sampleUntilStopped() }
    }

    private func sampleUntilStopped() async {
        var config = live.current
        var sampler = makeSampler(config)
        var reloader = reloader
        let clock = ContinuousClock()
        let start = clock.now
        // The loop counts as alive from here: a first read that hangs is a stall too.
        health?.loopTicked(at: start, interval: config.sampling.interval)
        metrics?.configured(config)
        var states = [SignalKind: SignalState]()
        for signal in config.signals.enabled {
            let state = SignalState(startingAt: start, tainted: adopted.contains(signal))
            states[signal] = state
            if adopted.contains(signal) { logger.info("adopted own taint", metadata: ["signal": "\(signal)"]) }
            metrics?.started(signal, state, enforced: config.signals[signal].enforce)
        }
        var provenance = [SignalKind: Provenance]()
        // The first read only sets the baseline that CPU usage is measured from.
        _ = await sampler.sample(config.signals.enabled)
        health?.loopTicked(at: clock.now, interval: config.sampling.interval)
        var schedule = TickSchedule(startingAt: start + config.sampling.interval * startJitter)
        while !Task.isShuttingDownGracefully {
            // A slow tick is a Prometheus query near its timeout.
            let now = schedule.next(every: config.sampling.interval, now: clock.now)
            do {
                try await ExecutorClock().sleep(until: now)
            } catch {
                break
            }
            reloader?.check()
            let previous = config
            config = live.current
            if config.sampling != previous.sampling || config.prometheus != previous.prometheus {
                sampler = makeSampler(config)
            }
            if config != previous { metrics?.configured(config) }
            let signals = config.signals.enabled
            // A signal disabled by a reload forgets its state; NodeSync removes its taint.
            states = states.filter { signals.contains($0.key) }
            let results = await sampler.readings(config)
            // A read cut short by the shutdown is no observation.
            if Task.isCancelled { break }
            var withheld: [TaintEvent] = []
            for signal in signals {
                let result = results[signal] ?? .failure(.notSampled)
                provenance[signal, default: Provenance()].record(result)
                // A signal enabled by a reload starts untainted, with its clocks from now.
                let before = states[signal] ?? SignalState(startingAt: now)
                var after = before
                after.observe(result, at: now, Thresholds(signal, in: config))
                states[signal] = after
                log(signal, result, before: before, after: after)
                metrics?.observed(signal, result, before: before, after: after, enforced: config.signals[signal].enforce)
                if !config.signals[signal].enforce && before.tainted != after.tainted {
                    withheld.append(.withheld(config.signals[signal].taint, wanted: after.tainted))
                }
            }
            metrics?.ticked()
            health?.loopTicked(at: clock.now, interval: config.sampling.interval)
            let view = DesiredNodeView(config, states: states, provenance: provenance)
            if pacing?.publish(view, config, at: now) ?? true { output.yield(.tick(view, config, at: now)) }
            announce(withheld, config: config, view: view)
            if once { return }
        }
        logger.info("shutting down")
        output.yield(.stopping(DesiredNodeView(config, states: states, provenance: provenance).conditions))
    }

    /// A report-only signal's would-be taint changes: logged, and posted as `TaintWithheld`
    /// Events with the signal's condition message, so a fleet shows what enforcing would do.
    private func announce(_ withheld: [TaintEvent], config: Config, view: DesiredNodeView) {
        for event in withheld {
            guard let signal = config.signals.enabled.first(where: { config.signals[$0].taint.key == event.key }),
                  let report = view.conditions.first(where: { $0.type == config.signals[signal].condition })
            else { continue }
            logger.info("\(event.logMessage(dryRun: dryRun))", metadata: ["taint": "\(event.taintText)", "signal": "\(signal)"])
            output.yield(.announce(event.nodeEvent(why: report.message)))
        }
    }

    private func log(_ signal: SignalKind, _ result: Result<Sample, NoSample>, before: SignalState, after: SignalState) {
        // Swift-log takes the metadata as an autoclosure: a sample line below the log level
        // (debug, outside a dry run) then costs no strings on the tick.
        switch result {
        case let .success(sample):
            logger.log(level: dryRun ? .info : .debug, "sample", metadata: [
                "signal": "\(signal)", "state": "\(after.phase.rawValue)",
                "percent": "\(oneDecimal(sample.percent))", "source": "\(sample.source.rawValue)",
            ])
        case let .failure(noSample):
            logger.warning("no sample", metadata: [
                "signal": "\(signal)", "state": "\(after.phase.rawValue)", "source": "\(noSample.source.rawValue)",
                "reason": "\(noSample.reason)", "detail": "\(noSample.detail)",
            ])
        }
        if before.phase != after.phase {
            logger.info("transition", metadata: [
                "signal": "\(signal)", "from": "\(before.phase.rawValue)", "to": "\(after.phase.rawValue)",
                "tainted": "\(after.tainted)",
            ])
        }
    }
}
