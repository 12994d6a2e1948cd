/// When the next API attempt may go out after failures: exponential backoff with jitter,
/// or exactly the server's `Retry-After`. The agent's loop asks it on every tick, so a
/// long outage costs one attempt per backoff period, never a hot loop.
public struct RetryBackoff: Equatable, Sendable {
    /// How the jitter spreads a period's wait.
    public enum Spread: Equatable, Sendable {
        /// Over the period's second half: never sooner than half of it.
        case equal
        /// Over the whole period from a tenth of it (never at once). Wider: N clients that
        /// failed together come back spread over the whole period after the server is up,
        /// not over its second half (after a 10 s outage, 200 simulated watches peaked at
        /// about N/6 in a second instead of N/4), at the price of retries sooner while it
        /// is down.
        case full
    }

    public var base: Duration
    public var cap: Duration
    public let spread: Spread
    /// How much each failure multiplies the period by (at least 2).
    public let growth: Int
    public private(set) var failures = 0
    public private(set) var notBefore: Instant?

    public init(base: Duration = .seconds(1), cap: Duration = .seconds(60), spread: Spread = .equal, growth: Int = 2) {
        self.base = base
        self.cap = cap
        self.spread = spread
        self.growth = max(growth, 2)
    }

    public func allows(at now: Instant) -> Bool {
        notBefore.map { now >= $0 } ?? true
    }

    public mutating func recordSuccess() {
        failures = 0
        notBefore = nil
    }

    /// `jitter` in 0..<1 spreads retries of many agents over the period (`spread`), so a
    /// cluster-wide outage does not end in a stampede.
    public mutating func recordFailure(at now: Instant, retryAfter: Duration? = nil, jitter: Double) {
        if let retryAfter {
            failures += 1
            notBefore = now + retryAfter
            return
        }
        notBefore = now + delayAfterFailure(jitter: jitter)
    }

    /// Counts a failure that more attempts soon would not cure: the next attempt waits the
    /// cap's period at once, spread as `spread` says.
    public mutating func recordFailureAtCap(at now: Instant, jitter: Double) {
        failures += 1
        notBefore = now + spreading(cap, jitter: jitter)
    }

    /// For a loop that sleeps between attempts: counts a failure and returns how long to
    /// wait before the next attempt.
    public mutating func delayAfterFailure(jitter: Double) -> Duration {
        failures += 1
        var period = base
        var grown = 1
        while grown < failures && period < cap {
            period *= growth
            grown += 1
        }
        return spreading(min(period, cap), jitter: jitter)
    }

    private func spreading(_ period: Duration, jitter: Double) -> Duration {
        let share = min(max(jitter, 0), 1)
        return switch spread {
        case .equal: period / 2 + period / 2 * share
        case .full: period / 10 + period * 9 / 10 * share
        }
    }

    /// How long until the next attempt is allowed (zero when it is).
    public func wait(at now: Instant) -> Duration {
        guard let notBefore, notBefore > now else { return .zero }
        return notBefore - now
    }
}
