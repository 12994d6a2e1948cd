import AutoTaintCore
import CoreMetrics
import FoundationEssentials
import KubeClient
import NodeMetrics
import Synchronization

/// The agent's metrics, recorded through swift-metrics (`CoreMetrics`) on the factory it
/// is given: the process bootstraps `MetricsSystem` once with the Prometheus export and
/// passes `MetricsSystem.factory`; tests pass a factory over their own registry.
///
/// Every name is in `AgentMetrics.catalog`, with its type and HELP text. All handles are
/// thread-safe; the sampling loop, NodeSync and the HTTP thread use them concurrently.
public final class AgentMetrics: Sendable {
    public struct Description: Sendable, Equatable {
        public enum Kind: String, Sendable { case gauge, counter }
        public var kind: Kind
        public var help: String
        public var labels: [String]
    }

    /// Every metric the agent exports: name → type, HELP text, label names.
    public static let catalog: [String: Description] = [
        "autotaint_signal_usage_percent": .init(kind: .gauge, help:
            "Last usage value of the signal, in percent of the node (0-100); kept while no new value arrives (see autotaint_signal_state).",
            labels: ["signal"]),
        "autotaint_signal_state": .init(kind: .gauge, help:
            "1 for the signal's current hysteresis state, 0 for the others (normal, pending-high, pressure, pending-low, unknown).",
            labels: ["signal", "state"]),
        "autotaint_signal_tainted": .init(kind: .gauge, help:
            "1 while the signal wants its taint on the node, else 0 (with enforce false the taint is wanted but withheld).",
            labels: ["signal"]),
        "autotaint_signal_enforced": .init(kind: .gauge, help:
            "1 if the signal writes its taint (enforce: true), 0 if it is report-only; withheld = tainted and not enforced.",
            labels: ["signal"]),
        "autotaint_signal_transitions_total": .init(kind: .counter, help:
            "Hysteresis state changes of the signal.", labels: ["signal", "from", "to"]),
        "autotaint_sample_source": .init(kind: .gauge, help:
            "1 for the source the signal's last sample came from (or was tried from), 0 for the other.",
            labels: ["signal", "source"]),
        "autotaint_sample_errors_total": .init(kind: .counter, help:
            "Ticks on which a signal got no value, by source and reason (e.g. prometheus timeout).",
            labels: ["source", "reason"]),
        KubeRequestMetrics.requestsName: .init(kind: .counter, help:
            "Requests to the Kubernetes API server by verb and HTTP status code; code 0: no HTTP answer (connection failure, timeout).",
            labels: ["verb", "code"]),
        "autotaint_api_conflicts_total": .init(kind: .counter, help:
            "Writes of the node's taints rejected with 409 Conflict (someone else wrote in between); each is re-read and retried.",
            labels: []),
        "autotaint_config_reloads_total": .init(kind: .counter, help:
            "Config reloads by result (success, failure).", labels: ["result"]),
        "autotaint_config_last_reload_success": .init(kind: .gauge, help:
            "1 if the last config load or reload succeeded, 0 if it was rejected and the previous config is still in use.",
            labels: []),
        "autotaint_last_tick_timestamp_seconds": .init(kind: .gauge, help:
            "Unix time of the sampling loop's last tick.", labels: []),
        "autotaint_signal_threshold_percent": .init(kind: .gauge, help:
            "The signal's thresholds in force on this node (config file, environment and Node annotations): high enters pressure, low leaves it.",
            labels: ["signal", "bound"]),
        "autotaint_sampling_interval_seconds": .init(kind: .gauge, help:
            "sampling.interval in force: the loop ticks this often, so autotaint_last_tick_timestamp_seconds is never older at a scrape.",
            labels: []),
        "autotaint_build_info": .init(kind: .gauge, help:
            "Always 1; the agent's version as a label.", labels: ["version"]),
        "autotaint_fleet_size": .init(kind: .gauge, help:
            "N: the nodes of the fleet guard's DaemonSet whose agent is up, as last read (or handed over by the agent this one replaced; 0 before either; read only while a slot is wanted or held).",
            labels: []),
        "autotaint_fleet_size_source": .init(kind: .gauge, help:
            "1 for where N came from, 0 for the others: ready (status.numberReady), rollout (numberReady plus the pods a rolling update of the DaemonSet is replacing, at most maxUnavailable), desired (desiredNumberScheduled: nothing ready yet), handedOver (as the agent this one replaced in a rolling update read it; read again before any slot is taken).",
            labels: ["source"]),
        "autotaint_fleet_scheduled": .init(kind: .gauge, help:
            "The fleet guard's DaemonSet's status.desiredNumberScheduled as last read: its nodes, agent up or not (0 before any read).",
            labels: []),
        "autotaint_fleet_slots": .init(kind: .gauge, help:
            "K: how many nodes may carry a hard own taint (NoSchedule, NoExecute) at once, from N and fleet.maxTaintedPercent/maxTainted; 0 while the guard is off or N unknown.",
            labels: []),
        "autotaint_fleet_slot_held": .init(kind: .gauge, help:
            "1 while this node holds a fleet slot (a Lease <daemonSet>-slot-<i>) and may carry hard own taints, else 0.",
            labels: []),
        "autotaint_fleet_overflow": .init(kind: .gauge, help:
            "1 while the signal's hard taint is held back for want of a fleet slot (written with fleet.overflowEffect, or not at all), else 0.",
            labels: ["signal"]),
        "autotaint_fleet_guard_failures_total": .init(kind: .counter, help:
            "Fleet guard requests that failed, by cause (forbidden, unauthorized, daemonset_not_found, unreachable, server_error, invalid_response); the node then has no slot.",
            labels: ["cause"]),
        ProcessStats.cpuSecondsName: .init(kind: .counter, help:
            "CPU time of the agent's process, user and system, in seconds (CLOCK_PROCESS_CPUTIME_ID, read at each scrape).",
            labels: []),
        ProcessStats.residentBytesName: .init(kind: .gauge, help:
            "Resident memory of the agent's process, in bytes (read from /proc/self/stat at each scrape).", labels: []),
    ]

    private let factory: any MetricsFactory
    private let lastTick: Gauge
    private let conflicts: CoreMetrics.Counter
    private let lastReloadSuccess: Gauge
    // Made once: the fleet guard records them on every step it takes.
    private let fleetSize: Gauge
    private let fleetScheduled: Gauge
    private let fleetSizeSource: [(FleetSize.Source, Gauge)]
    private let fleetSlots: Gauge
    private let fleetSlotHeld: Gauge
    private let perSignal = Mutex<[SignalKind: SignalSeries]>([:])
    // Apart: a usage series appears with the signal's first value, never as a false 0.
    private let usage = Mutex<[SignalKind: Gauge]>([:])

    /// The series a signal writes on every tick, made on its first use and kept: a
    /// swift-metrics handle made anew goes through the registry each time (its lock, the
    /// label checks, the HELP text), which cost a tenth of a tick's CPU.
    private struct SignalSeries: Sendable {
        let states: [(Phase, Gauge)]
        let tainted: Gauge
        let enforced: Gauge
        let sources: [(SampleSource, Gauge)]
        let fleetOverflow: Gauge

        init(_ signal: SignalKind, factory: any MetricsFactory) {
            let name = ("signal", signal.rawValue)
            states = Phase.allCases.map {
                ($0, Gauge(label: "autotaint_signal_state", dimensions: [name, ("state", $0.rawValue)], factory: factory))
            }
            tainted = Gauge(label: "autotaint_signal_tainted", dimensions: [name], factory: factory)
            enforced = Gauge(label: "autotaint_signal_enforced", dimensions: [name], factory: factory)
            sources = [SampleSource.proc, .prometheus].map {
                ($0, Gauge(label: "autotaint_sample_source", dimensions: [name, ("source", $0.rawValue)], factory: factory))
            }
            fleetOverflow = Gauge(label: "autotaint_fleet_overflow", dimensions: [name], factory: factory)
        }
    }

    /// Creates the series that exist from the start: state, tainted, enforced and source
    /// per enabled signal, the conflict and reload counters, and the last reload (1: the
    /// config loaded at start is good). The usage gauge appears with the first value.
    public init(factory: any MetricsFactory, signals: [SignalKind], version: String) {
        self.factory = factory
        lastTick = Gauge(label: "autotaint_last_tick_timestamp_seconds", factory: factory)
        conflicts = CoreMetrics.Counter(label: "autotaint_api_conflicts_total", factory: factory)
        lastReloadSuccess = Gauge(label: "autotaint_config_last_reload_success", factory: factory)
        fleetSize = Gauge(label: "autotaint_fleet_size", factory: factory)
        fleetScheduled = Gauge(label: "autotaint_fleet_scheduled", factory: factory)
        fleetSizeSource = FleetSize.Source.allCases.map { source in
            (source, Gauge(label: "autotaint_fleet_size_source", dimensions: [("source", source.rawValue)], factory: factory))
        }
        fleetSlots = Gauge(label: "autotaint_fleet_slots", factory: factory)
        fleetSlotHeld = Gauge(label: "autotaint_fleet_slot_held", factory: factory)
        lastReloadSuccess.record(1)
        gauge("autotaint_build_info", [("version", version)]).record(1)
        for result in ["success", "failure"] {
            _ = CoreMetrics.Counter(label: "autotaint_config_reloads_total", dimensions: [("result", result)], factory: factory)
        }
        for signal in signals {
            let handles = series(signal)
            record(.normal, in: handles)
            handles.tainted.record(0)
            fleetOverflow(signal, false)
        }
        fleet(size: nil, slots: nil, held: false)
        for cause in FleetFailure.Cause.allCases {
            _ = counter("autotaint_fleet_guard_failures_total", [("cause", cause.rawValue)])
        }
    }

    /// The fleet guard after a step: N as last read, K in force (nil: guard off or N
    /// unknown), whether this node holds a slot.
    public func fleet(size: FleetSize?, slots: Int?, held: Bool) {
        fleetSize.record(size?.nodes ?? 0)
        fleetScheduled.record(size?.scheduled ?? 0)
        for (source, gauge) in fleetSizeSource { gauge.record(size?.source == source ? 1 : 0) }
        fleetSlots.record(slots ?? 0)
        fleetSlotHeld.record(held ? 1 : 0)
    }

    /// Whether `signal`'s hard taint is held back for want of a slot.
    public func fleetOverflow(_ signal: SignalKind, _ heldBack: Bool) {
        series(signal).fleetOverflow.record(heldBack ? 1 : 0)
    }

    /// A fleet guard request failed with `cause`.
    public func fleetFailure(_ cause: FleetFailure.Cause) {
        counter("autotaint_fleet_guard_failures_total", [("cause", cause.rawValue)]).increment()
    }

    /// One signal's outcome of a tick: its value (or why there is none), and the state
    /// before and after observing it.
    /// `enforced`: the signal's `enforce` setting in the config of this tick.
    public func observed(
        _ signal: SignalKind, _ result: Result<Sample, NoSample>, before: SignalState, after: SignalState, enforced: Bool
    ) {
        let source: SampleSource
        switch result {
        case let .success(sample):
            source = sample.source
            usageGauge(signal).record(sample.percent)
        case let .failure(noSample):
            source = noSample.source
            counter("autotaint_sample_errors_total", [("source", noSample.source.rawValue), ("reason", noSample.reason)])
                .increment()
        }
        for (candidate, gauge) in series(signal).sources {
            gauge.record(candidate == source ? 1 : 0)
        }
        if before.phase != after.phase {
            counter("autotaint_signal_transitions_total", [
                ("signal", signal.rawValue), ("from", before.phase.rawValue), ("to", after.phase.rawValue),
            ]).increment()
        }
        setSignal(signal, after, enforced: enforced)
    }

    /// The signal's state at start, e.g. pressure when its taint was adopted.
    public func started(_ signal: SignalKind, _ state: SignalState, enforced: Bool) {
        setSignal(signal, state, enforced: enforced)
    }

    private func setSignal(_ signal: SignalKind, _ state: SignalState, enforced: Bool) {
        let handles = series(signal)
        record(state.phase, in: handles)
        handles.tainted.record(state.tainted ? 1 : 0)
        handles.enforced.record(enforced ? 1 : 0)
    }

    /// The config in force at start and after each change (a reload, a Node annotation):
    /// the enabled signals' thresholds and the sampling interval, which alerts and the
    /// dashboard compare against instead of constants of their own.
    public func configured(_ config: Config) {
        for signal in config.signals.enabled {
            let settings = config.signals[signal]
            for (bound, percent) in [("high", settings.highPercent), ("low", settings.lowPercent)] {
                gauge("autotaint_signal_threshold_percent", [("signal", signal.rawValue), ("bound", bound)]).record(percent)
            }
        }
        gauge("autotaint_sampling_interval_seconds", []).record(config.sampling.interval.secondsValue)
    }

    /// The loop ticked; `wallClock` is Unix time in seconds.
    public func ticked(wallClock: Double = Date.now.timeIntervalSince1970) {
        lastTick.record(wallClock)
    }

    /// A taint write was answered 409 Conflict.
    public func apiConflict() {
        conflicts.increment()
    }

    /// For the config hot reload: a reload was applied (`true`) or rejected (`false`,
    /// the previous config stays). Sets `autotaint_config_last_reload_success` and counts
    /// `autotaint_config_reloads_total{result}`.
    public func configReloaded(success: Bool) {
        counter("autotaint_config_reloads_total", [("result", success ? "success" : "failure")]).increment()
        lastReloadSuccess.record(success ? 1 : 0)
    }

    private func record(_ phase: Phase, in handles: SignalSeries) {
        for (candidate, gauge) in handles.states {
            gauge.record(candidate == phase ? 1 : 0)
        }
    }

    private func series(_ signal: SignalKind) -> SignalSeries {
        perSignal.withLock { made in
            if let handles = made[signal] { return handles }
            let handles = SignalSeries(signal, factory: factory)
            made[signal] = handles
            return handles
        }
    }

    private func usageGauge(_ signal: SignalKind) -> Gauge {
        usage.withLock { made in
            if let gauge = made[signal] { return gauge }
            let gauge = Gauge(label: "autotaint_signal_usage_percent", dimensions: [("signal", signal.rawValue)], factory: factory)
            made[signal] = gauge
            return gauge
        }
    }

    // For the series written on a change only (transitions, reloads, errors, config).
    private func gauge(_ label: String, _ dimensions: [(String, String)]) -> Gauge {
        Gauge(label: label, dimensions: dimensions, factory: factory)
    }

    private func counter(_ label: String, _ dimensions: [(String, String)]) -> CoreMetrics.Counter {
        CoreMetrics.Counter(label: label, dimensions: dimensions, factory: factory)
    }
}
