import AutoTaintCore
import Testing

private let t0 = ContinuousClock.now
private func at(_ milliseconds: Int) -> Instant { t0 + .milliseconds(milliseconds) }

@Suite("WriteSchedule: when a failed Node write goes again")
struct WriteScheduleTests {
    /// Failures in a row, each at the moment the last wait ended, with the jitter at its
    /// extremes: the waits each urgency keeps.
    @Test(arguments: [
        (WriteSchedule.Urgency.normal, 0.0, [500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]),
        (.normal, 1.0, [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000]),
        (.shedding, 0.0, [100, 200, 400, 400, 400, 400, 400, 400]),
        (.shedding, 1.0, [1_000, 2_000, 4_000, 4_000, 4_000, 4_000, 4_000, 4_000]),
    ])
    func waitsGrowToTheirCaps(urgency: WriteSchedule.Urgency, jitter: Double, expected: [Int]) {
        var schedule = WriteSchedule()
        var now = at(0)
        var waits: [Int] = []
        for _ in expected {
            schedule.recordFailure(at: now, retryAfter: nil, outage: true, jitter: jitter)
            let wait = schedule.wait(urgency, at: now)
            waits.append(Int(wait.components.seconds) * 1_000 + Int(wait.components.attoseconds / 1_000_000_000_000_000))
            now += wait
            #expect(schedule.allows(urgency, at: now))
        }
        #expect(waits == expected)
    }

    @Test(arguments: [WriteSchedule.Urgency.normal, .shedding])
    func retryAfterHoldsEveryWriteBack(urgency: WriteSchedule.Urgency) {
        var schedule = WriteSchedule()
        schedule.recordFailure(at: at(0), retryAfter: .seconds(7), outage: false, jitter: 0)
        #expect(!schedule.allows(urgency, at: at(6_999)))
        #expect(schedule.allows(urgency, at: at(7_000)))
        // The server answering in between does not shorten its own word.
        schedule.serverAnswered(at: at(100), jitter: 0)
        #expect(!schedule.allows(urgency, at: at(6_999)))
    }

    @Test func theServersReturnEndsAnOutagesWaitWithinTheSpread() {
        var schedule = WriteSchedule()
        var now = at(0)
        for _ in 0..<6 {
            schedule.recordFailure(at: now, retryAfter: nil, outage: true, jitter: 1)
            now += schedule.wait(.normal, at: now)
        }
        schedule.recordFailure(at: now, retryAfter: nil, outage: true, jitter: 1)
        #expect(schedule.wait(.normal, at: now) == .seconds(60))
        schedule.serverAnswered(at: now + .seconds(5), jitter: 0.5)
        #expect(schedule.wait(.normal, at: now + .seconds(5)) == WriteSchedule.resumeSpread / 2)
        #expect(schedule.allows(.normal, at: now + .seconds(5) + WriteSchedule.resumeSpread / 2))
        #expect(!schedule.isClear)
        // Backoff starts over: a refusal after the return waits the first period, not a minute.
        schedule.recordFailure(at: now + .seconds(7), retryAfter: nil, outage: false, jitter: 1)
        #expect(schedule.wait(.normal, at: now + .seconds(7)) == .seconds(1))
        schedule.recordSuccess()
        #expect(schedule.isClear)
    }

    @Test func aRefusalIsNotEndedByTheServerAnswering() {
        var schedule = WriteSchedule()
        schedule.recordFailure(at: at(0), retryAfter: nil, outage: false, jitter: 1)
        schedule.recordFailure(at: at(1_000), retryAfter: nil, outage: false, jitter: 1)
        schedule.serverAnswered(at: at(1_100), jitter: 0)
        #expect(schedule.wait(.normal, at: at(1_100)) == .milliseconds(1_900))
    }
}
