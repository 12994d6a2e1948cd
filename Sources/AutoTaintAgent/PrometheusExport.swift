import CoreMetrics
import Prometheus

/// The Prometheus side of the agent's metrics: a swift-prometheus registry, and a
/// swift-metrics factory over it that gives each metric the HELP text of
/// `AgentMetrics.catalog` (swift-prometheus' own `PrometheusMetricsFactory` registers
/// every metric with an empty HELP, and a registry refuses one name with two HELP texts).
///
/// The process makes one and bootstraps `MetricsSystem` with its `factory`, once; tests
/// make their own and pass `factory` explicitly, with no global state.
public struct PrometheusExport: Sendable {
    public let registry: PrometheusCollectorRegistry
    public let factory: DescribedPrometheusFactory

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        factory = DescribedPrometheusFactory(registry: registry, help: AgentMetrics.catalog.mapValues(\.help))
    }

    /// The text exposition format (`text/plain; version=0.0.4`), with HELP and TYPE.
    public func render() -> [UInt8] {
        registry.emitToBuffer()
    }

    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"
}

/// `PrometheusMetricsFactory`, plus HELP text by metric name. Gauges and meters become
/// Prometheus gauges, counters counters, aggregated recorders and timers histograms.
public struct DescribedPrometheusFactory: MetricsFactory {
    public let registry: PrometheusCollectorRegistry
    public let help: [String: String]
    private let buckets = PrometheusMetricsFactory(registry: PrometheusCollectorRegistry())

    public init(registry: PrometheusCollectorRegistry, help: [String: String]) {
        self.registry = registry
        self.help = help
    }

    /// The whole name as `metricName`, so `name` is the label itself.
    private func describe(_ label: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: label, unitName: "", helpText: help[label] ?? "")
    }

    public func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        registry.makeCounter(descriptor: describe(label), labels: dimensions)
    }

    public func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        registry.makeCounter(descriptor: describe(label), labels: dimensions)
    }

    public func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        guard aggregate else { return registry.makeGauge(descriptor: describe(label), labels: dimensions) }
        return registry.makeValueHistogram(
            descriptor: describe(label), labels: dimensions, buckets: buckets.defaultValueHistogramBuckets)
    }

    public func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        registry.makeGauge(descriptor: describe(label), labels: dimensions)
    }

    public func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        registry.makeDurationHistogram(
            descriptor: describe(label), labels: dimensions, buckets: buckets.defaultDurationHistogramBuckets)
    }

    public func destroyCounter(_ handler: any CounterHandler) {
        if let counter = handler as? Prometheus.Counter { registry.unregisterCounter(counter) }
    }

    public func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {
        if let counter = handler as? Prometheus.Counter { registry.unregisterCounter(counter) }
    }

    public func destroyRecorder(_ handler: any RecorderHandler) {
        if let gauge = handler as? Prometheus.Gauge { registry.unregisterGauge(gauge) }
        if let histogram = handler as? ValueHistogram { registry.unregisterValueHistogram(histogram) }
    }

    public func destroyMeter(_ handler: any MeterHandler) {
        if let gauge = handler as? Prometheus.Gauge { registry.unregisterGauge(gauge) }
    }

    public func destroyTimer(_ handler: any TimerHandler) {
        if let histogram = handler as? DurationHistogram { registry.unregisterDurationHistogram(histogram) }
    }
}
