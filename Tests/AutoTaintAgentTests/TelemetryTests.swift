import AutoTaintCore
import KubeClient
import Logging
import NodeMetrics
import Prometheus
import Testing
@testable import AutoTaintAgent

private let start = ContinuousClock.now
private func at(_ milliseconds: Int) -> Instant { start + .milliseconds(milliseconds) }

@Suite struct LivenessTests {
    @Test func aliveWithinThreeIntervals() {
        let verdict = AgentHealth.liveness(lastTick: at(0), interval: .seconds(5), now: at(15_000))
        #expect(verdict.ok)
        #expect(verdict.message == "ok: last tick 15.000s ago")
    }

    @Test func stalledPastThreeIntervals() {
        let verdict = AgentHealth.liveness(lastTick: at(0), interval: .seconds(5), now: at(15_001))
        #expect(!verdict.ok)
        #expect(verdict.message == "stalled: last tick 15.001s ago, more than 3 intervals (15.000s)")
    }

    @Test func aliveBeforeTheLoopRuns() {
        #expect(AgentHealth.liveness(lastTick: nil, interval: .seconds(1), now: at(60_000)).ok)
    }

    @Test(arguments: [1, 2, 5, 30])
    func theLimitScalesWithTheInterval(seconds: Int) {
        let interval = Duration.seconds(seconds)
        #expect(AgentHealth.liveness(lastTick: at(0), interval: interval, now: start + interval * 3).ok)
        #expect(!AgentHealth.liveness(lastTick: at(0), interval: interval, now: start + interval * 3 + .milliseconds(1)).ok)
    }

    @Test func theSharedStateFollowsTheLoop() {
        let health = AgentHealth(interval: .seconds(1))
        health.loopTicked(at: at(0), interval: .seconds(1))
        #expect(health.liveness(at: at(2_000)).ok)
        #expect(!health.liveness(at: at(3_500)).ok)
        health.loopTicked(at: at(3_400), interval: .seconds(1))
        #expect(health.liveness(at: at(3_500)).ok)
    }

    @Test func readyOnlyAfterAReconcile() {
        let health = AgentHealth(interval: .seconds(1))
        #expect(!health.readiness().ok)
        health.reconciled()
        #expect(health.readiness().ok)
    }

    @Test func durationsAreShownInMilliseconds() {
        #expect(AgentHealth.seconds(.milliseconds(1_234)) == "1.234s")
        #expect(AgentHealth.seconds(.milliseconds(7)) == "0.007s")
        #expect(AgentHealth.seconds(.seconds(-1)) == "0.000s")
    }
}

/// Each test has its own registry: nothing global is bootstrapped.
@Suite struct AgentMetricsTests {
    let export = PrometheusExport()
    var metrics: AgentMetrics { AgentMetrics(factory: export.factory, signals: [.cpu, .memory], version: "9.8.7") }
    var text: String { String(decoding: export.render(), as: UTF8.self) }

    func value(_ series: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }

    @Test func everyCataloguedMetricHasHelpAndTypeOnceSeriesExist() async {
        let metrics = self.metrics
        let thresholds = Thresholds(Config().signals.cpu, staleAfter: .seconds(60))
        var state = SignalState(startingAt: at(0))
        let before = state
        state.observe(95, at: at(1_000), thresholds)
        metrics.observed(.cpu, .success(Sample(percent: 95, source: .proc)), before: before, after: state, enforced: true)
        metrics.observed(.memory, .failure(NoSample(source: .proc, reason: "read_failed", detail: "x")),
                         before: SignalState(startingAt: at(0)), after: SignalState(startingAt: at(0)), enforced: true)
        metrics.ticked(wallClock: 1_800_000_000)
        metrics.apiConflict()
        metrics.configReloaded(success: true)
        metrics.configured(Config())
        ProcessStats(factory: export.factory).update()
        KubeRequestMetricsProbe.count(export.factory)
        for (name, description) in AgentMetrics.catalog {
            #expect(text.contains("# HELP \(name) \(description.help)\n"), "\(name)")
            #expect(text.contains("# TYPE \(name) \(description.kind.rawValue)\n"), "\(name)")
        }
    }

    @Test func stateIsOneHotAndFollowsTransitions() {
        let metrics = self.metrics
        let thresholds = Thresholds(Config().signals.cpu, staleAfter: .seconds(60))
        #expect(value(#"autotaint_signal_state{signal="cpu",state="normal"}"#) == 1)
        var state = SignalState(startingAt: at(0))
        let before = state
        state.observe(99, at: at(1_000), thresholds)
        #expect(state.phase == .pendingHigh)
        metrics.observed(.cpu, .success(Sample(percent: 99, source: .proc)), before: before, after: state, enforced: true)
        for phase in Phase.allCases {
            #expect(value(#"autotaint_signal_state{signal="cpu",state="\#(phase.rawValue)"}"#) == (phase == .pendingHigh ? 1 : 0))
        }
        #expect(value(#"autotaint_signal_transitions_total{signal="cpu",from="normal",to="pending-high"}"#) == 1)
        #expect(value(#"autotaint_signal_usage_percent{signal="cpu"}"#) == 99)
        #expect(value(#"autotaint_signal_tainted{signal="cpu"}"#) == 0)
        #expect(value(#"autotaint_sample_source{signal="cpu",source="proc"}"#) == 1)
        #expect(value(#"autotaint_sample_source{signal="cpu",source="prometheus"}"#) == 0)
    }

    @Test func anAdoptedTaintStartsInPressure() {
        let metrics = self.metrics
        metrics.started(.cpu, SignalState(startingAt: at(0), tainted: true), enforced: true)
        #expect(value(#"autotaint_signal_state{signal="cpu",state="pressure"}"#) == 1)
        #expect(value(#"autotaint_signal_state{signal="cpu",state="normal"}"#) == 0)
        #expect(value(#"autotaint_signal_tainted{signal="cpu"}"#) == 1)
        #expect(value(#"autotaint_signal_enforced{signal="cpu"}"#) == 1)
    }

    @Test func aReportOnlySignalWantsItsTaintButIsNotEnforced() {
        let metrics = self.metrics
        let thresholds = Thresholds(Config().signals.cpu, staleAfter: .seconds(60))
        var state = SignalState(startingAt: at(0))
        metrics.started(.cpu, state, enforced: false)
        #expect(value(#"autotaint_signal_enforced{signal="cpu"}"#) == 0)
        let before = state
        state.observe(99, at: at(0), thresholds)
        state.observe(99, at: at(30_000), thresholds)
        #expect(state.tainted)
        metrics.observed(.cpu, .success(Sample(percent: 99, source: .proc)), before: before, after: state, enforced: false)
        #expect(value(#"autotaint_signal_tainted{signal="cpu"}"#) == 1)
        #expect(value(#"autotaint_signal_enforced{signal="cpu"}"#) == 0)
        // A reload that turns enforce on shows on the next tick.
        metrics.observed(.cpu, .success(Sample(percent: 99, source: .proc)), before: state, after: state, enforced: true)
        #expect(value(#"autotaint_signal_enforced{signal="cpu"}"#) == 1)
    }

    @Test func missingSamplesAreCountedBySourceAndReasonAndKeepTheLastValue() {
        let metrics = self.metrics
        let state = SignalState(startingAt: at(0))
        metrics.observed(.cpu, .success(Sample(percent: 42, source: .prometheus)), before: state, after: state, enforced: true)
        let miss = NoSample(source: .prometheus, reason: "timeout", detail: "5s")
        metrics.observed(.cpu, .failure(miss), before: state, after: state, enforced: true)
        metrics.observed(.cpu, .failure(miss), before: state, after: state, enforced: true)
        #expect(value(#"autotaint_sample_errors_total{source="prometheus",reason="timeout"}"#) == 2)
        #expect(value(#"autotaint_signal_usage_percent{signal="cpu"}"#) == 42)
        #expect(value(#"autotaint_sample_source{signal="cpu",source="prometheus"}"#) == 1)
    }

    @Test func noUsageSeriesBeforeTheFirstValue() {
        _ = metrics
        #expect(!text.contains("autotaint_signal_usage_percent{"))
    }

    @Test func configReloadsStartGoodAndFollowTheHotReload() {
        let metrics = self.metrics
        #expect(value("autotaint_config_last_reload_success") == 1)
        #expect(value(#"autotaint_config_reloads_total{result="failure"}"#) == 0)
        metrics.configReloaded(success: false)
        #expect(value("autotaint_config_last_reload_success") == 0)
        #expect(value(#"autotaint_config_reloads_total{result="failure"}"#) == 1)
        metrics.configReloaded(success: true)
        #expect(value("autotaint_config_last_reload_success") == 1)
        #expect(value(#"autotaint_config_reloads_total{result="success"}"#) == 1)
    }

    @Test func theVersionIsALabelOfBuildInfo() {
        _ = metrics
        #expect(value(#"autotaint_build_info{version="9.8.7"}"#) == 1)
    }

    @Test func thresholdsAndIntervalFollowTheConfigInForce() throws {
        let metrics = self.metrics
        var config = Config()
        config.signals.memory.enabled = true
        config.sampling.interval = .milliseconds(2_500)
        metrics.configured(config)
        #expect(value(#"autotaint_signal_threshold_percent{signal="cpu",bound="high"}"#) == config.signals.cpu.highPercent)
        #expect(value(#"autotaint_signal_threshold_percent{signal="cpu",bound="low"}"#) == config.signals.cpu.lowPercent)
        #expect(value(#"autotaint_signal_threshold_percent{signal="memory",bound="high"}"#) == config.signals.memory.highPercent)
        #expect(value("autotaint_sampling_interval_seconds") == 2.5)
        // A Node annotation or a reload changes them; the next configured() shows it.
        let (annotated, problems) = config.applying(annotations: ["autotaint.dev/cpu-high-percent": "70"])
        #expect(problems.isEmpty)
        metrics.configured(annotated)
        #expect(value(#"autotaint_signal_threshold_percent{signal="cpu",bound="high"}"#) == 70)
    }

    @Test func conflictsAreCountedPerRejectedWrite() async {
        let metrics = self.metrics
        let api = FakeNodeAPI(Node(name: "node-1", uid: "uid-1", resourceVersion: "10"))
        let health = AgentHealth(interval: .seconds(1))
        var state = SyncState(api: api, config: Config(), node: await api.node, dryRun: false,
                              logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }),
                              metrics: metrics, health: health)
        let conflict = KubeError(kind: .conflict, verb: "PATCH", resource: "nodes/node-1", message: "modified")
        await api.failNext("PATCH taints", conflict, conflict)
        let taint = Config().signals.cpu.taint
        let view = DesiredNodeView(ownTaints: [taint], conditions: [
            ConditionReport(type: "CPUPressure", status: .true, reason: "CPUUsageHigh", message: "m"),
        ])
        #expect(!health.readiness().ok)
        await state.tick(view, Config(), at: at(0))
        #expect(value("autotaint_api_conflicts_total") == 2)
        #expect(health.readiness().ok)
    }

    @Test func aFailedReconcileIsNotReady() async {
        let api = FakeNodeAPI(Node(name: "node-1", uid: "uid-1", resourceVersion: "10"))
        let health = AgentHealth(interval: .seconds(1))
        var state = SyncState(api: api, config: Config(), node: await api.node, dryRun: false,
                              logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }),
                              health: health)
        await api.failNext("PATCH status", KubeError(kind: .serverError(500), verb: "PATCH", resource: "nodes/node-1/status",
                                                     message: "boom"))
        let view = DesiredNodeView(ownTaints: [], conditions: [
            ConditionReport(type: "CPUPressure", status: .false, reason: "CPUUsageNormal", message: "m"),
        ])
        await state.tick(view, Config(), at: at(0))
        #expect(!health.readiness().ok)
    }
}

@Suite struct ProcessStatsTests {
    // A real line of /proc/PID/stat, with a name holding a space and a parenthesis.
    let line = "4242 (auto taint) S 1 4242 4242 0 -1 4194560 1063 0 0 0 250 130 0 0 20 0 5 0 3401 "
        + "297861120 1843 18446744073709551615 1 1 0 0 0 0 0 4096 17000 0 0 0 17 1 0 0 0 0 0\n"

    @Test func memoryIsPagesTimesThePageSize() throws {
        #expect(ProcessStats.residentBytes(statLine: line, pageSize: 4096) == Double(1843 * 4096))
        let parenthesised = "4242 (a) b)" + line.drop(while: { $0 != ")" }).dropFirst()
        #expect(ProcessStats.residentBytes(statLine: parenthesised, pageSize: 4096) == Double(1843 * 4096))
    }

    @Test(arguments: ["", "4242 (x", "4242 (x) S 1 2", "4242 (x) S 1 4242 4242 0 -1 4194560 1063 0 0 0 1 2 0 0 20 0 5 0 3401 1 p"])
    func aMalformedLineIsNoReading(_ text: String) {
        #expect(ProcessStats.residentBytes(statLine: text, pageSize: 4096) == nil)
    }

    @Test func theRealProcessIsReadAndItsCounterOnlyRises() throws {
        let export = PrometheusExport()
        let stats = ProcessStats(factory: export.factory)
        stats.update()
        stats.update()
        let text = String(decoding: export.render(), as: UTF8.self)
        let cpu = try #require(text.split(separator: "\n").first { $0.hasPrefix("process_cpu_seconds_total ") })
        let rss = try #require(text.split(separator: "\n").first { $0.hasPrefix("process_resident_memory_bytes ") })
        #expect(try #require(Double(cpu.split(separator: " ")[1])) > 0)
        #expect(try #require(Double(rss.split(separator: " ")[1])) > 1_000_000)
    }

    @Test func anUnreadableFileRecordsNothing() {
        let export = PrometheusExport()
        ProcessStats(factory: export.factory, statPath: "/nonexistent/stat").update()
        #expect(!String(decoding: export.render(), as: UTF8.self).contains("process_resident_memory_bytes "))
    }
}

/// `autotaint_api_requests_total` is made in KubeClient; one series of it here, so its
/// HELP is checked with the others.
enum KubeRequestMetricsProbe {
    static func count(_ factory: DescribedPrometheusFactory) {
        factory.makeCounter(label: KubeRequestMetrics.requestsName, dimensions: [("verb", "GET"), ("code", "200")])
            .increment(by: 1)
    }
}
