import Testing
@testable import AutoTaintCore

private let start = ContinuousClock.now

@Test func doublesFromBaseUpToTheCapWithEqualJitter() {
    var backoff = RetryBackoff(base: .seconds(1), cap: .seconds(8))
    var waits: [Duration] = []
    for _ in 1...6 {
        backoff.recordFailure(at: start, jitter: 0)
        waits.append(backoff.wait(at: start))
    }
    // jitter 0 is the low end: half the period.
    #expect(waits == [.milliseconds(500), .seconds(1), .seconds(2), .seconds(4), .seconds(4), .seconds(4)])
    backoff.recordFailure(at: start, jitter: 0.999_999)
    #expect(backoff.wait(at: start) > .milliseconds(7_999) && backoff.wait(at: start) <= .seconds(8))
}

@Test func retryAfterIsHonouredExactly() {
    var backoff = RetryBackoff()
    backoff.recordFailure(at: start, retryAfter: .seconds(2), jitter: 0.5)
    #expect(!backoff.allows(at: start + .milliseconds(1_999)))
    #expect(backoff.allows(at: start + .seconds(2)))
}

@Test func successResetsIt() {
    var backoff = RetryBackoff()
    for _ in 1...5 { backoff.recordFailure(at: start, jitter: 0.5) }
    backoff.recordSuccess()
    #expect(backoff.allows(at: start))
    backoff.recordFailure(at: start, jitter: 0)
    #expect(backoff.wait(at: start) == .milliseconds(500))
}

@Test func manyFailuresDoNotOverflow() {
    var backoff = RetryBackoff(base: .seconds(1), cap: .seconds(60))
    for _ in 1...200 { backoff.recordFailure(at: start, jitter: 1) }
    #expect(backoff.wait(at: start) == .seconds(60))
}

@Test func aSleepingLoopGetsTheSameWaits() {
    var backoff = RetryBackoff(base: .seconds(1), cap: .seconds(8))
    let waits = (1...5).map { _ in backoff.delayAfterFailure(jitter: 0) }
    #expect(waits == [.milliseconds(500), .seconds(1), .seconds(2), .seconds(4), .seconds(4)])
    backoff.recordSuccess()
    #expect(backoff.delayAfterFailure(jitter: 1) == .seconds(1))
}

@Test func aPeriodCanTriple() {
    var backoff = RetryBackoff(base: .seconds(1), cap: .seconds(30), spread: .full, growth: 3)
    let waits = (1...6).map { _ in backoff.delayAfterFailure(jitter: 1) }
    #expect(waits == [.seconds(1), .seconds(3), .seconds(9), .seconds(27), .seconds(30), .seconds(30)])
    var long = RetryBackoff(base: .seconds(1), cap: .seconds(30), growth: 3)
    for _ in 1..<1_000 { _ = long.delayAfterFailure(jitter: 0) }
    #expect(long.delayAfterFailure(jitter: 1) == .seconds(30), "no overflow after many failures")
}

@Test func fullJitterSpreadsOverTheWholePeriod() {
    var backoff = RetryBackoff(base: .seconds(1), cap: .seconds(8), spread: .full)
    let periods = [1, 2, 4, 8, 8]
    for (jitter, period) in zip([0.0, 0.25, 0.5, 0.75, 1.0], periods) {
        #expect(backoff.delayAfterFailure(jitter: jitter) == .seconds(period) / 10 + .seconds(period) * 0.9 * jitter)
    }
}
