/// When the sampling ticks fall: one every `interval` from the start, each counted at its
/// scheduled instant rather than when the sleep happened to end. Wake-ups jitter by
/// microseconds, and `for: 5s` measured between two of them fell short about half the
/// time, which cost a whole extra interval of reaction. After a tick that overran the
/// next one, the next starts at once rather than bursting through the missed ones.
public struct TickSchedule: Equatable, Sendable {
    public private(set) var last: ContinuousClock.Instant

    public init(startingAt start: ContinuousClock.Instant) {
        last = start
    }

    /// The next tick's instant, to sleep until and to count the tick at.
    public mutating func next(every interval: Duration, now: ContinuousClock.Instant) -> ContinuousClock.Instant {
        last = max(last + interval, now)
        return last
    }
}
