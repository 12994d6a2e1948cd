import AutoTaintCore
import KubeClient
import Logging

/// NodeSync's failed writes: when the next may go (`WriteSchedule`), and one log line per
/// streak of failures instead of one per attempt: an outage of a minute at a 1 s interval
/// logged 60 ERROR lines, each with a `retryIn` that the shedding path did not keep.
struct WriteRetry {
    private(set) var schedule = WriteSchedule()
    private let logger: Logger
    /// The streak under way: when it began, its failures, and the kind last logged.
    private var streak: (since: Instant, failures: Int, logged: KubeError.Kind)?

    init(logger: Logger) {
        self.logger = logger
    }

    func allows(_ urgency: WriteSchedule.Urgency, at now: Instant) -> Bool {
        schedule.allows(urgency, at: now)
    }

    /// Logs the first failure of a streak, and any whose kind differs from the last logged,
    /// with the wait actually kept for `urgency`.
    mutating func failed(_ error: KubeError, _ urgency: WriteSchedule.Urgency, at now: Instant) {
        schedule.recordFailure(at: now, retryAfter: error.retryAfter, outage: error.kind.isNoAnswer,
                               jitter: .random(in: 0..<1))
        let failures = (streak?.failures ?? 0) + 1
        defer { streak = (streak?.since ?? now, failures, error.kind) }
        guard streak?.logged != error.kind else { return }
        logger.error("API request failed; retrying later", metadata: [
            "verb": "\(error.verb)", "resource": "\(error.resource)", "kind": "\(error.kind)",
            "error": "\(error.message)", "retryIn": "\(schedule.wait(urgency, at: now).roundedToMilliseconds.kubernetesText)",
            "failures": "\(failures)",
        ])
    }

    mutating func succeeded(at now: Instant) {
        if let streak {
            logger.info("API requests succeed again", metadata: [
                "failures": "\(streak.failures)", "after": "\((now - streak.since).roundedToMilliseconds.kubernetesText)",
            ])
        }
        streak = nil
        schedule.recordSuccess()
    }

    /// The watch or another request heard from the server at `now`.
    mutating func serverAnswered(at now: Instant) {
        schedule.serverAnswered(at: now, jitter: .random(in: 0..<1))
    }
}
