import KubeClient
import NodeMetrics

extension SourceSwitch {
    /// The `SourceFallback` Event: a Warning when the agent falls back to Prometheus,
    /// Normal when /proc serves again.
    public var event: NodeEvent {
        NodeEvent(
            reason: "SourceFallback",
            message: "CPU now read from \(to.rawValue) instead of \(from.rawValue): \(reason): \(detail)",
            kind: to == .prometheus ? .warning : .normal)
    }
}
