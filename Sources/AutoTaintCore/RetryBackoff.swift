/// When the next API attempt may go out after failures: exponential backoff with jitter,
/// or exactly the server's `Retry-After`. The agent's loop asks it on every tick, so a
/// long outage costs one attempt per backoff period, never a hot loop.
public struct RetryBackoff: Equatable, Sendable {
    public var base: Duration
    public var cap: Duration
    public private(set) var failures = 0
    public private(set) var notBefore: Instant?

    public init(base: Duration = .seconds(1), cap: Duration = .seconds(60)) {
        self.base = base
        self.cap = cap
    }

    public func allows(at now: Instant) -> Bool {
        notBefore.map { now >= $0 } ?? true
    }

    public mutating func recordSuccess() {
        failures = 0
        notBefore = nil
    }

    /// `jitter` in 0..<1 spreads retries of many agents over the second half of the
    /// period ("equal jitter"), so a cluster-wide outage does not end in a stampede.
    public mutating func recordFailure(at now: Instant, retryAfter: Duration? = nil, jitter: Double) {
        if let retryAfter {
            failures += 1
            notBefore = now + retryAfter
            return
        }
        notBefore = now + delayAfterFailure(jitter: jitter)
    }

    /// For a loop that sleeps between attempts: counts a failure and returns how long to
    /// wait before the next attempt.
    public mutating func delayAfterFailure(jitter: Double) -> Duration {
        failures += 1
        let doublings = min(failures - 1, 30)
        var period = base * (1 << doublings)
        if period > cap { period = cap }
        return period / 2 + period / 2 * min(max(jitter, 0), 1)
    }

    /// How long until the next attempt is allowed (zero when it is).
    public func wait(at now: Instant) -> Duration {
        guard let notBefore, notBefore > now else { return .zero }
        return notBefore - now
    }
}
