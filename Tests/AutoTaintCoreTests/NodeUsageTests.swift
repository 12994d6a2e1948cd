import Testing
@testable import AutoTaintCore

/// Counter values recorded from /proc/stat on a 2-CPU machine (USER_HZ = 100).
private let recorded = CPUTicks(
    user: 1_832_441, nice: 1_202, system: 611_523, idle: 40_112_907,
    iowait: 20_311, irq: 0, softirq: 9_421, steal: 1_877
)

private func advanced(
    user: UInt64 = 0, nice: UInt64 = 0, system: UInt64 = 0, idle: UInt64 = 0,
    iowait: UInt64 = 0, irq: UInt64 = 0, softirq: UInt64 = 0, steal: UInt64 = 0
) -> CPUTicks {
    CPUTicks(
        user: recorded.user + user, nice: recorded.nice + nice, system: recorded.system + system,
        idle: recorded.idle + idle, iowait: recorded.iowait + iowait, irq: recorded.irq + irq,
        softirq: recorded.softirq + softirq, steal: recorded.steal + steal
    )
}

struct BusyCase: Sendable, CustomTestStringConvertible {
    var name: String
    var later: CPUTicks
    var percent: Double
    var testDescription: String { name }
}

@Test(arguments: [
    BusyCase(name: "idle machine", later: advanced(idle: 200), percent: 0),
    BusyCase(name: "both CPUs saturated in user", later: advanced(user: 200), percent: 100),
    BusyCase(name: "one of two CPUs busy", later: advanced(user: 100, idle: 100), percent: 50),
    BusyCase(
        name: "every busy kind counts",
        later: advanced(user: 20, nice: 10, system: 30, idle: 100, irq: 5, softirq: 15, steal: 20),
        percent: 50),
    BusyCase(name: "iowait is not busy", later: advanced(system: 50, idle: 100, iowait: 50), percent: 25),
    BusyCase(name: "steal is busy", later: advanced(idle: 150, steal: 50), percent: 25),
    BusyCase(
        name: "recorded 1 s under stress-ng --cpu 2",
        later: CPUTicks(
            user: 1_832_637, nice: 1_202, system: 611_527, idle: 40_112_907,
            iowait: 20_311, irq: 0, softirq: 9_421, steal: 1_877),
        percent: 100),
    BusyCase(
        name: "recorded 1 s at light load",
        later: CPUTicks(
            user: 1_832_444, nice: 1_202, system: 611_525, idle: 40_113_101,
            iowait: 20_312, irq: 0, softirq: 9_421, steal: 1_877),
        percent: 2.5),
])
func busyPercent(_ c: BusyCase) throws {
    let value = try c.later.busyPercent(since: recorded).get()
    #expect(abs(value - c.percent) < 1e-9)
}

/// Found by the counters fuzz target (Fuzz/): `busy * 100 / elapsed` rounded to
/// 100.00000000000001 when every elapsed tick was busy and the count was this large.
@Test func fullyBusyHugeTickCountIsExactlyOneHundred() throws {
    let zero = CPUTicks(user: 0, nice: 0, system: 0, idle: 0, iowait: 0, irq: 0, softirq: 0, steal: 0)
    var later = zero
    later.user = 13_229_323_905_400_982
    #expect(try later.busyPercent(since: zero).get() == 100)
}

@Test func counterGoingBackwardsIsNoValue() {
    var later = advanced(user: 100, idle: 100)
    later.idle = recorded.idle - 1
    #expect(
        later.busyPercent(since: recorded)
            == .failure(.counterWentBackwards(field: "idle", from: recorded.idle, to: recorded.idle - 1)))
}

@Test func hotPlugResetOfEveryCounterIsNoValue() {
    let afterReset = CPUTicks(user: 10, nice: 0, system: 5, idle: 100, iowait: 0, irq: 0, softirq: 0, steal: 0)
    #expect(afterReset.busyPercent(since: recorded) == .failure(
        .counterWentBackwards(field: "user", from: recorded.user, to: 10)))
}

@Test func noElapsedTickIsNoValue() {
    #expect(recorded.busyPercent(since: recorded) == .failure(.noTicksElapsed))
}

@Test(arguments: [
    (MemoryFigures(total: 16_384_000, available: 4_096_000), 75.0),
    (MemoryFigures(total: 16_384_000, available: 16_384_000), 0.0),
    (MemoryFigures(total: 16_384_000, available: 0), 100.0),
    // Found by the counters fuzz target: `used * 100 / total` gave 100.00000000000001.
    (MemoryFigures(total: 13_229_323_905_400_982, available: 0), 100.0),
])
func memoryUsedPercent(_ figures: MemoryFigures, _ percent: Double) throws {
    #expect(try figures.usedPercent().get() == percent)
}

@Test func memoryFiguresThatCannotBeTrueAreNoValue() {
    #expect(MemoryFigures(total: 0, available: 0).usedPercent() == .failure(.noMemoryTotal))
    #expect(
        MemoryFigures(total: 100, available: 101).usedPercent()
            == .failure(.availableExceedsTotal(available: 101, total: 100)))
}
