/// When the agent's next write to its Node may go out after failed ones, as data: the
/// server's `Retry-After`, backoff with jitter, a shorter one for shedding a hard taint,
/// and the end of the wait once the server is seen answering again.
///
/// - Normal writes back off 1 s doubling to 60 s, over each period's second half.
/// - Shedding a hard taint the node may no longer carry (its fleet slot lost) backs off
///   too, but with full jitter and capped at `sheddingCap`: the excess over K ends within
///   that cap of the server's return, and a thousand holders cut off together do not
///   retry every tick, nor all in the same second.
/// - A `Retry-After` holds every write back, shedding included: it is the server's word.
/// - After an outage (no answer at all), the server answering again (the watch re-listed or
///   resumed, a fleet request succeeded) ends the wait: the held-back write goes within
///   `resumeSpread`, jittered. A refusal (403, 422) or a 5xx keeps its backoff: the server
///   is there and answered this request so.
public struct WriteSchedule: Equatable, Sendable {
    public enum Urgency: Equatable, Sendable {
        case normal
        /// The Node carries a hard own taint that the fleet guard no longer allows.
        case shedding
    }

    public static let sheddingCap = Duration.seconds(4)
    public static let resumeSpread = Duration.seconds(3)

    private static let normalStart = RetryBackoff()
    private static let sheddingStart = RetryBackoff(base: .seconds(1), cap: sheddingCap, spread: .full)

    private var normal = Self.normalStart
    private var shedding = Self.sheddingStart
    private var retryAfterUntil: Instant?
    /// The last failure was the server's absence, which its return ends.
    private var waitingOutOutage = false
    /// Set when the server answered again while writes waited out an outage.
    private var resumeAt: Instant?

    public init() {}

    /// Nothing is held back: no failure since the last successful write.
    public var isClear: Bool { normal.failures == 0 && resumeAt == nil && retryAfterUntil == nil }

    public func allows(_ urgency: Urgency, at now: Instant) -> Bool {
        wait(urgency, at: now) == .zero
    }

    /// How long until a write of `urgency` may go (zero when it may now).
    public func wait(_ urgency: Urgency, at now: Instant) -> Duration {
        let serverSaid = retryAfterUntil.map { $0 > now ? $0 - now : .zero } ?? .zero
        if let resumeAt { return max(serverSaid, resumeAt > now ? resumeAt - now : .zero) }
        let backoff = urgency == .normal ? normal.wait(at: now) : shedding.wait(at: now)
        return max(serverSaid, backoff)
    }

    public mutating func recordSuccess() {
        self = WriteSchedule()
    }

    /// `outage`: the failure was no answer at all; `jitter` in 0..<1.
    public mutating func recordFailure(at now: Instant, retryAfter: Duration?, outage: Bool, jitter: Double) {
        resumeAt = nil
        waitingOutOutage = outage
        if let retryAfter { retryAfterUntil = now + retryAfter }
        normal.recordFailure(at: now, retryAfter: retryAfter, jitter: jitter)
        shedding.recordFailure(at: now, retryAfter: retryAfter, jitter: jitter)
    }

    /// The server answered something (a watch event, a successful request) at `now`.
    public mutating func serverAnswered(at now: Instant, jitter: Double) {
        guard waitingOutOutage, resumeAt == nil else { return }
        waitingOutOutage = false
        normal = Self.normalStart
        shedding = Self.sheddingStart
        resumeAt = now + Self.resumeSpread * min(max(jitter, 0), 1)
    }
}
