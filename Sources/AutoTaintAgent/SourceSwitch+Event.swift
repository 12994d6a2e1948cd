import KubeClient
import Logging
import NodeMetrics

extension SourceSwitch {
    /// The `source fallback` warning, the same from `run` and `sample`.
    public func log(to logger: Logger) {
        logger.warning("source fallback", metadata: [
            "from": "\(from.rawValue)", "to": "\(to.rawValue)", "reason": "\(reason)", "detail": "\(detail)",
        ])
    }

    /// The `SourceFallback` Event: a Warning when the agent falls back to Prometheus,
    /// Normal when /proc serves again.
    public var event: NodeEvent {
        NodeEvent(
            reason: "SourceFallback",
            message: "CPU now read from \(to.rawValue) instead of \(from.rawValue): \(reason): \(detail)",
            kind: to == .prometheus ? .warning : .normal)
    }
}
