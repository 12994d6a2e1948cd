import Testing
@testable import AutoTaintCore

/// Pairs of /proc/pressure/cpu and /proc/stat readings recorded on this project's 2-CPU
/// machine (kernel 6.18), one second apart, four seconds into each load: the file texts
/// and the monotonic clock (µs) as read, and the aggregate `cpu` line of /proc/stat.
struct RecordedPair: Sendable, CustomTestStringConvertible {
    var load: String
    var earlier: (pressure: String, atMicroseconds: UInt64, stat: String)
    var later: (pressure: String, atMicroseconds: UInt64, stat: String)
    var stall: Double
    var usage: Double
    /// What the throttling gate of the default cpuContention signal (minUsagePercent 50,
    /// lowPercent 20) makes of it.
    var judged: Double
    var note: String?
    var testDescription: String { load }
}

private func pressureTextWithTotal(_ total: UInt64) -> String { some("0.00", total) }

private func some(_ avg10: String, _ total: UInt64) -> String {
    "some avg10=\(avg10) avg60=7.30 avg300=6.38 total=\(total)\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
}

/// The `cpu` line's first eight counters (guest and guest_nice are inside user and nice).
private func ticks(_ line: String) -> CPUTicks {
    let n = line.split(separator: " ").dropFirst().prefix(8).map { UInt64($0)! }
    return CPUTicks(user: n[0], nice: n[1], system: n[2], idle: n[3], iowait: n[4], irq: n[5], softirq: n[6], steal: n[7])
}

private let recorded: [RecordedPair] = [
    RecordedPair(load: "idle",
                 earlier: (some("0.63", 91_702_409), 4_092_571_292, "cpu  42551 0 8539 759280 5838 0 131 1143 0 0"),
                 later: (some("0.63", 91_703_081), 4_093_574_739, "cpu  42552 0 8539 759479 5838 0 131 1143 0 0"),
                 stall: 0.067, usage: 0.5, judged: 0),
    RecordedPair(load: "stress-ng --cpu 2 (one loop per core: busy, not contended)",
                 earlier: (some("0.34", 91_742_802), 4_099_591_500, "cpu  43320 0 8548 759892 5848 0 131 1145 0 0"),
                 later: (some("0.46", 91_759_811), 4_100_592_526, "cpu  43519 0 8549 759892 5848 0 131 1145 0 0"),
                 stall: 1.699, usage: 100, judged: 1.699),
    RecordedPair(load: "stress-ng --cpu 4 (two loops per core: contended)",
                 earlier: (some("29.69", 95_498_521), 4_106_612_617, "cpu  44315 0 8554 760292 5848 0 131 1148 0 0"),
                 later: (some("29.69", 96_429_272), 4_107_613_107, "cpu  44515 0 8554 760292 5848 0 131 1148 0 0"),
                 stall: 93.029, usage: 100, judged: 93.029),
    RecordedPair(load: "stress-ng --cpu 2 in a cgroup with cpu.cfs_quota_us 10000 of 100000 (throttled)",
                 earlier: (some("45.35", 100_200_725), 4_113_638_241, "cpu  44573 0 8559 761438 5849 0 131 1168 0 0"),
                 later: (some("54.16", 101_147_052), 4_114_638_788, "cpu  44587 0 8560 761626 5849 0 131 1171 0 0"),
                 stall: 94.581, usage: 8.738, judged: 0,
                 note: "CPU stall 94.6% at CPU usage 8.7% (below minUsagePercent 50%): CFS throttling, not contention"),
]

@Test(arguments: recorded)
func stallUsageAndGateOfARecordedPair(_ pair: RecordedPair) throws {
    let earlier = try StallReading(pressureText: pair.earlier.pressure, at: pair.earlier.atMicroseconds)
    let later = try StallReading(pressureText: pair.later.pressure, at: pair.later.atMicroseconds)
    let stall = try later.stallPercent(since: earlier).get()
    let usage = try ticks(pair.later.stat).busyPercent(since: ticks(pair.earlier.stat)).get()
    #expect(abs(stall - pair.stall) < 0.001)
    #expect(abs(usage - pair.usage) < 0.001)
    let judged = ThrottlingGate(SignalConfig.cpuContentionDefaults).judge(stallPercent: stall, cpuUsagePercent: usage)
    #expect(abs(judged.percent - pair.judged) < 0.001)
    #expect(judged.note == pair.note)
}

@Test func theGateOpensAtMinUsagePercentExactly() {
    let gate = ThrottlingGate(minUsagePercent: 50, notableStallPercent: 20)
    #expect(gate.judge(stallPercent: 60, cpuUsagePercent: 50) == (60, nil))
    #expect(gate.judge(stallPercent: 60, cpuUsagePercent: 49.9).percent == 0)
    #expect(ThrottlingGate(minUsagePercent: 0, notableStallPercent: 20).judge(stallPercent: 60, cpuUsagePercent: 0).percent == 60)
}

@Test func aZeroedStallIsSaidOnlyAboveTheNotableShare() {
    let gate = ThrottlingGate(minUsagePercent: 50, notableStallPercent: 20)
    #expect(gate.judge(stallPercent: 20, cpuUsagePercent: 5) == (0, nil))
    #expect(gate.judge(stallPercent: 20.5, cpuUsagePercent: 5).note
        == "CPU stall 20.5% at CPU usage 5.0% (below minUsagePercent 50%): CFS throttling, not contention")
}

@Test func aStallCounterThatWentBackwardsGivesNoValue() throws {
    let earlier = try StallReading(pressureText: pressureTextWithTotal(1_000_000), at: 1_000_000)
    let later = try StallReading(pressureText: pressureTextWithTotal(400), at: 2_000_000)
    #expect(later.stallPercent(since: earlier) == Result.failure(UsageUnavailable.stallWentBackwards(from: 1_000_000, to: 400)))
    #expect(UsageUnavailable.stallWentBackwards(from: 1, to: 0).label == "counter_reset")
}

@Test func noElapsedTimeGivesNoValue() throws {
    let reading = try StallReading(pressureText: pressureTextWithTotal(5), at: 1_000)
    #expect(reading.stallPercent(since: reading) == Result.failure(UsageUnavailable.noTimeElapsed))
}

@Test func stallNeverReadsAbove100() throws {
    // The counter and the clock are read a few microseconds apart.
    let earlier = StallReading(someTotalMicroseconds: 0, atMicroseconds: 0)
    let later = StallReading(someTotalMicroseconds: 1_000_050, atMicroseconds: 1_000_000)
    #expect(try later.stallPercent(since: earlier).get() == 100)
}

@Test(arguments: [
    "", "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n", "some avg10=0.00 avg60=0.00 avg300=0.00\n",
    "some avg10=0.00 total=-5\n", "some total=12x\n",
])
func malformedPressureTextIsAnError(_ text: String) {
    #expect(throws: UsageUnavailable.self) { try StallReading(pressureText: text, at: 0) }
}

@Test func theSomeLineIsFoundWhereverItIs() throws {
    let reading = try StallReading(pressureText: "full avg10=0.00 total=9\nsome avg10=1.00 total=42\n", at: 7)
    #expect(reading == StallReading(someTotalMicroseconds: 42, atMicroseconds: 7))
}
