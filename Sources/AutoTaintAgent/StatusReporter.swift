import AutoTaintCore
import KubeClient

/// The shared status module: every signal reports its condition through it, and it
/// writes to the Node's `/status` only when a condition's status changes or its
/// heartbeat is due (node-problem-detector's condition manager does the same).
struct StatusReporter {
    let api: any NodeAPI
    let nodeName: String
    let dryRun: Bool
    private(set) var ledger = ConditionLedger()

    init(api: any NodeAPI, nodeName: String, dryRun: Bool) {
        self.api = api
        self.nodeName = nodeName
        self.dryRun = dryRun
    }

    /// Writes the due ones of `reports`; returns them (empty: nothing was due) and the
    /// Node as written. `force` writes all of them (on shutdown).
    mutating func report(
        _ reports: [ConditionReport], on node: Node, at now: Instant, heartbeat: Duration,
        wallTime: @autoclosure () -> String, force: Bool = false
    ) async throws(KubeError) -> (node: Node, written: [ConditionReport]) {
        let due = force ? reports : ledger.due(reports, at: now, heartbeat: heartbeat)
        guard !due.isEmpty else { return (node, []) }
        // Formatted only for a write: most ticks have none.
        let stamp = wallTime()
        let conditions = due.map { Self.condition($0, replacing: node.conditions, at: stamp) }
        var written = node
        if dryRun {
            written.conditions = Self.merged(conditions, into: node.conditions)
        } else {
            written = try await api.patchConditions(nodeName, conditions)
        }
        ledger.recordWritten(due, at: now)
        return (written, due)
    }

    /// The condition to send. `lastTransitionTime` is sent only when the status differs
    /// from the Node's; otherwise it is left out, and strategic merge keeps the old one.
    static func condition(_ report: ConditionReport, replacing existing: [NodeCondition], at wallTime: String)
        -> NodeCondition
    {
        let before = existing.first { $0.type == report.type }
        return NodeCondition(
            type: report.type, status: report.status.rawValue, reason: report.reason, message: report.message,
            lastHeartbeatTime: wallTime,
            lastTransitionTime: before?.status == report.status.rawValue ? nil : wallTime)
    }

    /// `conditions` merged by type into `existing`, as the API server's strategic merge does.
    static func merged(_ conditions: [NodeCondition], into existing: [NodeCondition]) -> [NodeCondition] {
        var result = existing
        for condition in conditions {
            if let index = result.firstIndex(where: { $0.type == condition.type }) {
                var updated = condition
                updated.lastTransitionTime = condition.lastTransitionTime ?? result[index].lastTransitionTime
                result[index] = updated
            } else {
                result.append(condition)
            }
        }
        return result
    }
}
