import AutoTaintCore
import Logging

/// A `NodeUpdater` for `run --dry-run` without a cluster: it keeps the Node it would be
/// writing in memory and logs every write it would send, and sends none.
public struct DryRunNode: NodeUpdater {
    private var ownTaints: [TaintSpec] = []
    private var ledger = ConditionLedger()
    private let logger: Logger

    public init(logger: Logger) {
        self.logger = logger
    }

    public mutating func start(_ config: Config) async -> Set<SignalKind> { [] }

    public mutating func update(to view: DesiredNodeView, _ config: Config, at now: Instant) async {
        for taint in view.ownTaints where !ownTaints.contains(taint) {
            logger.info("would add taint", metadata: ["taint": "\(taint.text)"])
        }
        for taint in ownTaints where !view.ownTaints.contains(taint) {
            logger.info("would remove taint", metadata: ["taint": "\(taint.text)"])
        }
        ownTaints = view.ownTaints
        let due = ledger.due(view.conditions, at: now, heartbeat: config.heartbeat)
        for report in due { logReport(report) }
        ledger.recordWritten(due, at: now)
    }

    public mutating func stop(_ stopped: [ConditionReport], _ config: Config) async {
        if config.shutdown.removeTaints {
            for taint in ownTaints { logger.info("would remove taint", metadata: ["taint": "\(taint.text)"]) }
        }
        for report in stopped { logReport(report) }
    }

    private func logReport(_ report: ConditionReport) {
        logger.info("would report condition", metadata: [
            "type": "\(report.type)", "status": "\(report.status.rawValue)",
            "reason": "\(report.reason)", "message": "\(report.message)",
        ])
    }
}

extension TaintSpec {
    /// `key=value:Effect`, as kubectl writes a taint.
    public var text: String { "\(key)=\(value):\(effect.rawValue)" }
}
