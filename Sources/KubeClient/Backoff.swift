/// Waits between attempts that failed: `initial`, doubling up to `maximum`, each drawn at
/// random from its upper half so that many agents failing together do not retry together.
struct Backoff {
    private let initial: Duration
    private let maximum: Duration
    private var upcoming: Duration

    init(initial: Duration, maximum: Duration) {
        self.initial = initial
        self.maximum = maximum
        upcoming = initial
    }

    /// The wait before the next attempt; each call doubles the one after.
    mutating func next() -> Duration {
        let base = upcoming
        upcoming = min(upcoming * 2, maximum)
        return base * Double.random(in: 0.5...1.0)
    }

    /// After a success: the next failure waits `initial` again.
    mutating func reset() {
        upcoming = initial
    }
}
