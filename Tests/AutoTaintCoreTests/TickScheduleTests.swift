import AutoTaintCore
import Testing

private let start = ContinuousClock.now
private func at(_ milliseconds: Int) -> ContinuousClock.Instant { start + .milliseconds(milliseconds) }

@Test func ticksFallOnTheScheduleHoweverLateTheWakeUps() {
    var schedule = TickSchedule(startingAt: start)
    // Each tick asked for after waking up a little late (0.2–3 ms) is still counted on time.
    let wakeUps = [0, 1_002, 2_000, 3_003, 4_001]
    let ticks = wakeUps.map { schedule.next(every: .seconds(1), now: at($0)) }
    #expect(ticks == [at(1_000), at(2_000), at(3_000), at(4_000), at(5_000)])
}

@Test func aTickThatOverranTheNextStartsTheScheduleAgainFromNow() {
    var schedule = TickSchedule(startingAt: start)
    #expect(schedule.next(every: .seconds(1), now: at(0)) == at(1_000))
    // That tick took 2.5 s (a Prometheus query near its timeout): no burst of missed ticks.
    #expect(schedule.next(every: .seconds(1), now: at(3_500)) == at(3_500))
    #expect(schedule.next(every: .seconds(1), now: at(3_510)) == at(4_500))
}

@Test func aLongerIntervalFromAReloadCountsFromTheLastTick() {
    var schedule = TickSchedule(startingAt: start)
    #expect(schedule.next(every: .seconds(1), now: at(0)) == at(1_000))
    #expect(schedule.next(every: .seconds(5), now: at(1_001)) == at(6_000))
}
