/// Decides when a condition is written, the way node-problem-detector's condition manager
/// does: when its status changes (or the signal switches between enforced and report-only,
/// or the fleet guard starts or stops holding its taint back), and otherwise once per
/// heartbeat — never per tick, so a node whose state does not change costs the API server
/// one write per heartbeat. A note appearing (the throttling
/// gate zeroed a stall) is written at once; its going waits for the heartbeat, so a note
/// that comes and goes every tick costs at most two writes per heartbeat.
///
/// Only writes that succeeded are recorded, so a failed write is due again on the next tick.
public struct ConditionLedger: Equatable, Sendable {
    private var written: [String: Entry] = [:]

    private struct Entry: Equatable, Sendable {
        var report: ConditionReport
        var at: Instant
    }

    public init() {}

    /// The reports among `reports` that should be written at `now`.
    public func due(_ reports: [ConditionReport], at now: Instant, heartbeat: Duration) -> [ConditionReport] {
        reports.filter { report in
            guard let last = written[report.type] else { return true }
            return last.report.status != report.status || last.report.enforced != report.enforced
                || last.report.heldBack != report.heldBack
                || (report.hasNote && !last.report.hasNote) || now - last.at >= heartbeat
        }
    }

    /// Records that `reports` were written at `now`.
    public mutating func recordWritten(_ reports: [ConditionReport], at now: Instant) {
        for report in reports { written[report.type] = Entry(report: report, at: now) }
    }

    /// When the first of `reports` is next due for its heartbeat, if all of them have been
    /// written; nil when one has not (it is due now).
    public func nextHeartbeat(of reports: [ConditionReport], heartbeat: Duration) -> Instant? {
        var earliest: Instant?
        for report in reports {
            guard let last = written[report.type] else { return nil }
            earliest = min(earliest ?? last.at, last.at)
        }
        return earliest.map { $0 + heartbeat }
    }

    /// The status last written for a condition type, if any.
    public func lastStatus(of type: String) -> ConditionStatus? { written[type]?.report.status }
}
