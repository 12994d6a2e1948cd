import AutoTaintCore
import Logging
import NodeMetrics
import ServiceLifecycle

/// The agent's sampling loop as a swift-service-lifecycle `Service`: once per
/// `sampling.interval` it samples the enabled signals, advances each signal's hysteresis
/// and sends the resulting view of the Node to `NodeSync`.
///
/// `run` returns after one pass with `once`, or when a graceful shutdown is requested
/// (SIGTERM/SIGINT through the `ServiceGroup`); it then sends `.stopping` with the
/// conditions set to Unknown/AgentStopped. Either way it ends the view stream last, which
/// is what lets `NodeSync` finish.
public struct AgentLoop: Service {
    private let config: Config
    private let adopted: Set<SignalKind>
    private let once: Bool
    private let logger: Logger
    private let makeSampler: @Sendable () -> any Sampler
    private let output: AsyncStream<SyncInput>.Continuation
    private let metrics: AgentMetrics?
    private let health: AgentHealth?

    /// A sampler holds per-task state, so the loop makes its own in `run`. `adopted`:
    /// the signals whose taint is already on the Node at start. `metrics` hears each
    /// signal's outcome per tick; `health` each tick (for `/healthz`).
    public init(
        config: Config, adopted: Set<SignalKind>, once: Bool, logger: Logger,
        sampler: @escaping @Sendable () -> any Sampler, output: AsyncStream<SyncInput>.Continuation,
        metrics: AgentMetrics? = nil, health: AgentHealth? = nil
    ) {
        self.config = config
        self.adopted = adopted
        self.once = once
        self.logger = logger
        makeSampler = sampler
        self.output = output
        self.metrics = metrics
        self.health = health
    }

    public func run() async throws {
        defer { output.finish() }
        var sampler = makeSampler()
        let clock = ContinuousClock()
        let signals = config.signals.enabled
        let start = clock.now
        // The loop counts as alive from here: a first read that hangs is a stall too.
        health?.loopTicked(at: start, interval: config.sampling.interval)
        var states = [SignalKind: SignalState]()
        for signal in signals {
            states[signal] = SignalState(startingAt: start, tainted: adopted.contains(signal))
            if adopted.contains(signal) { logger.info("adopted own taint", metadata: ["signal": "\(signal)"]) }
            metrics?.started(signal, states[signal]!)
        }
        var provenance = [SignalKind: Provenance]()
        // The first read only sets the baseline that CPU usage is measured from.
        _ = await sampler.sample(signals)
        health?.loopTicked(at: clock.now, interval: config.sampling.interval)
        var deadline = start
        while !Task.isShuttingDownGracefully {
            deadline += config.sampling.interval
            do {
                try await cancelWhenGracefulShutdown { [deadline] in try await Task.sleep(until: deadline, clock: .continuous) }
            } catch {
                break
            }
            let now = clock.now
            let results = await sampler.sample(signals)
            for signal in signals {
                let result = results[signal] ?? .failure(
                    NoSample(source: .proc, reason: "not_sampled", detail: "the sampler returned nothing"))
                switch result {
                case let .success(sample): provenance[signal] = Provenance(lastSource: sample.source)
                case let .failure(noSample): provenance[signal, default: Provenance()].lastProblem =
                    "\(noSample.source.rawValue) \(noSample.reason)"
                }
                let before = states[signal, default: SignalState(startingAt: start)]
                var after = before
                after.observe(
                    try? result.get().percent, at: now,
                    Thresholds(config.signals[signal], staleAfter: config.prometheus.staleAfter))
                states[signal] = after
                log(signal, result, before: before, after: after)
                metrics?.observed(signal, result, before: before, after: after)
            }
            metrics?.ticked()
            health?.loopTicked(at: clock.now, interval: config.sampling.interval)
            output.yield(.tick(DesiredNodeView(config, states: states, provenance: provenance), at: now))
            if once { return }
        }
        logger.info("shutting down")
        var stopped = DesiredNodeView(config, states: states, provenance: provenance).conditions
        for index in stopped.indices {
            stopped[index].status = .unknown
            stopped[index].reason = "AgentStopped"
            stopped[index].message = "autotaint stopped on this node; this condition is no longer updated"
        }
        output.yield(.stopping(stopped))
    }

    private func log(_ signal: SignalKind, _ result: Result<Sample, NoSample>, before: SignalState, after: SignalState) {
        var metadata: Logger.Metadata = ["signal": "\(signal)", "state": "\(after.phase.rawValue)"]
        switch result {
        case let .success(sample):
            metadata["percent"] = "\((sample.percent * 10).rounded() / 10)"
            metadata["source"] = "\(sample.source.rawValue)"
            logger.log(level: config.dryRun ? .info : .debug, "sample", metadata: metadata)
        case let .failure(noSample):
            metadata["source"] = "\(noSample.source.rawValue)"
            metadata["reason"] = "\(noSample.reason)"
            metadata["detail"] = "\(noSample.detail)"
            logger.warning("no sample", metadata: metadata)
        }
        if before.phase != after.phase {
            logger.info("transition", metadata: [
                "signal": "\(signal)", "from": "\(before.phase.rawValue)", "to": "\(after.phase.rawValue)",
                "tainted": "\(after.tainted)",
            ])
        }
    }
}
