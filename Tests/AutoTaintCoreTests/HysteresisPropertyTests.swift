import PropertyBased
import Testing
@testable import AutoTaintCore

/// Runs `values`, one every `intervalSeconds` (nil: a tick with no value), and returns
/// the seconds at which the taint changed.
private func taintChanges(
    _ values: [Double?], intervalSeconds: Int, _ thresholds: Thresholds
) -> [Int] {
    let start = ContinuousClock.now
    var state = SignalState(startingAt: start)
    var changes: [Int] = []
    for (index, value) in values.enumerated() {
        let before = state.tainted
        let t = index * intervalSeconds
        state.observe(value, at: start + .seconds(t), thresholds)
        if state.tainted != before { changes.append(t) }
    }
    return changes
}

@Test func taintNeverChangesTwiceWithinMinHold() async {
    await propertyCheck(
        count: 300,
        input: Gen.double(in: 0...100).array(of: 1...300),
        Gen.int(in: 1...10), Gen.int(in: 0...60), Gen.int(in: 0...60), Gen.int(in: 1...120)
    ) { values, interval, holdHigh, recoverFor, minHold in
        let thresholds = Thresholds(
            highPercent: 70, lowPercent: 40, holdHigh: .seconds(holdHigh),
            recoverFor: .seconds(recoverFor), minHold: .seconds(minHold), staleAfter: .seconds(60))
        // Values above 100 stand for ticks with no value, so gaps and unknown are exercised.
        let observations = values.map { $0 > 95 ? nil : $0 * 100 / 95 }
        let changes = taintChanges(observations, intervalSeconds: interval, thresholds)
        for (earlier, later) in zip(changes, changes.dropFirst()) {
            #expect(later - earlier >= minHold, "taint changed at \(earlier)s and again at \(later)s")
        }
    }
}

@Test func oscillationFasterThanForNeverEntersPressure() async {
    await propertyCheck(
        count: 300,
        input: Gen.int(in: 1...40).array(of: 1...60),
        Gen.int(in: 1...5), Gen.int(in: 2...90), Gen.double(in: 80...100), Gen.double(in: 0..<80)
    ) { runLengths, interval, holdHigh, high, low in
        let thresholds = Thresholds(
            highPercent: 80, lowPercent: 60, holdHigh: .seconds(holdHigh),
            recoverFor: .seconds(10), minHold: .zero, staleAfter: .seconds(60))
        // The longest run of high samples whose first and last lie less than `for` apart.
        let longestRun = (holdHigh - 1) / interval + 1
        var values: [Double?] = []
        for run in runLengths {
            values += Array(repeating: high, count: min(run, longestRun))
            values.append(low)
        }
        #expect(taintChanges(values, intervalSeconds: interval, thresholds).isEmpty)
    }
}
