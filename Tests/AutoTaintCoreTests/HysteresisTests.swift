import Testing
@testable import AutoTaintCore

/// One observation at `t` seconds after start (`nil`: the tick had no value) and the
/// phase and taint the machine must be in afterwards.
struct Step: Sendable {
    var t: Int
    var value: Double?
    var phase: Phase
    var tainted: Bool
}

private func step(_ t: Int, _ value: Double?, _ phase: Phase, tainted: Bool? = nil) -> Step {
    Step(t: t, value: value, phase: phase, tainted: tainted ?? (phase == .pressure || phase == .pendingLow))
}

/// high 80, low 60, for 30s, recoverFor 120s, minHold 60s, staleAfter 60s unless a case
/// says otherwise.
private let standard = Thresholds(
    highPercent: 80, lowPercent: 60, holdHigh: .seconds(30), recoverFor: .seconds(120),
    minHold: .seconds(60), staleAfter: .seconds(60))

struct Scenario: Sendable, CustomTestStringConvertible {
    var name: String
    var thresholds = standard
    var startTainted = false
    var steps: [Step]
    var testDescription: String { name }
}

private func with(_ change: (inout Thresholds) -> Void) -> Thresholds {
    var t = standard
    change(&t)
    return t
}

private let scenarios: [Scenario] = [
    Scenario(name: "below high stays normal", steps: [
        step(0, 50, .normal), step(5, 79.9, .normal), step(60, 0, .normal),
    ]),
    Scenario(name: "exactly at high starts pending-high", steps: [step(0, 80, .pendingHigh)]),
    Scenario(name: "high held for `for` enters pressure, not a second sooner", steps: [
        step(0, 85, .pendingHigh), step(29, 99, .pendingHigh), step(30, 85, .pressure),
    ]),
    Scenario(name: "a dip during pending-high restarts the clock", steps: [
        step(0, 85, .pendingHigh), step(20, 79.9, .normal), step(25, 85, .pendingHigh),
        step(50, 85, .pendingHigh), step(55, 85, .pressure),
    ]),
    Scenario(name: "between low and high in pressure stays in pressure", steps: [
        step(0, 90, .pendingHigh), step(30, 90, .pressure), step(35, 60.1, .pressure),
        step(40, 79, .pressure),
    ]),
    Scenario(name: "exactly at low starts pending-low; low held for recoverFor leaves", steps: [
        step(0, 90, .pendingHigh), step(30, 90, .pressure), step(40, 60, .pendingLow),
        step(159, 10, .pendingLow), step(160, 10, .normal),
    ]),
    Scenario(name: "a rise during pending-low restarts recovery", steps: [
        step(0, 90, .pendingHigh), step(30, 90, .pressure), step(40, 50, .pendingLow),
        step(100, 60.1, .pressure), step(105, 50, .pendingLow), step(224, 50, .pendingLow),
        step(225, 50, .normal),
    ]),
    Scenario(
        name: "minHold keeps the taint after recoverFor until minHold since it was added",
        thresholds: with { $0.recoverFor = .seconds(10) },
        steps: [
            step(0, 90, .pendingHigh), step(30, 90, .pressure), step(31, 10, .pendingLow),
            step(41, 10, .pendingLow), step(89, 10, .pendingLow), step(90, 10, .normal),
        ]),
    Scenario(
        name: "minHold delays re-entering pressure after the taint was removed",
        thresholds: with { $0.recoverFor = .seconds(10); $0.holdHigh = .seconds(5) },
        steps: [
            step(0, 90, .pendingHigh), step(5, 90, .pressure), step(6, 10, .pendingLow),
            step(65, 10, .normal), step(66, 95, .pendingHigh), step(71, 95, .pendingHigh),
            step(124, 95, .pendingHigh), step(125, 95, .pressure),
        ]),
    Scenario(name: "a gap shorter than staleAfter holds the state and its clock", steps: [
        step(0, 85, .pendingHigh), step(20, nil, .pendingHigh), step(25, nil, .pendingHigh),
        step(30, 85, .pressure),
    ]),
    Scenario(name: "no sample for staleAfter in pressure: unknown, taint held", steps: [
        step(0, 90, .pendingHigh), step(30, 90, .pressure), step(89, nil, .pressure),
        step(90, nil, .unknown, tainted: true), step(500, nil, .unknown, tainted: true),
    ]),
    Scenario(name: "no sample for staleAfter while normal: unknown, untainted", steps: [
        step(0, 10, .normal), step(60, nil, .unknown, tainted: false),
    ]),
    Scenario(name: "no sample at all since start: unknown after staleAfter", steps: [
        step(59, nil, .normal), step(60, nil, .unknown, tainted: false),
    ]),
    Scenario(name: "pending-high interrupted by unknown starts its clock afresh", steps: [
        step(0, 85, .pendingHigh), step(60, nil, .unknown, tainted: false),
        step(70, 85, .pendingHigh), step(99, 85, .pendingHigh), step(100, 85, .pressure),
    ]),
    Scenario(name: "back from unknown on the tainted side with a low value recovers afresh", steps: [
        step(0, 90, .pendingHigh), step(30, 90, .pressure), step(90, nil, .unknown, tainted: true),
        step(100, 10, .pendingLow), step(219, 10, .pendingLow), step(220, 10, .normal),
    ]),
    Scenario(name: "back from unknown on the tainted side with a high value is pressure", steps: [
        step(0, 90, .pendingHigh), step(30, 90, .pressure), step(90, nil, .unknown, tainted: true),
        step(100, 95, .pressure),
    ]),
    Scenario(name: "a non-finite value counts as no value", steps: [
        step(0, 85, .pendingHigh), step(10, .nan, .pendingHigh), step(60, .infinity, .unknown, tainted: false),
    ]),
    Scenario(
        name: "for 0s enters pressure on the first high sample",
        thresholds: with { $0.holdHigh = .zero },
        steps: [step(0, 80, .pressure)]),
    Scenario(
        name: "recoverFor 0s leaves on the first low sample once minHold is over",
        thresholds: with { $0.holdHigh = .zero; $0.recoverFor = .zero },
        steps: [step(0, 90, .pressure), step(30, 10, .pendingLow), step(60, 10, .normal)]),
    Scenario(
        name: "for, recoverFor and minHold 0s follow every sample across the thresholds, never between them",
        thresholds: with { $0.holdHigh = .zero; $0.recoverFor = .zero; $0.minHold = .zero },
        steps: [
            step(0, 80, .pressure), step(1, 60, .normal), step(2, 70, .normal), step(3, 99, .pressure),
            step(4, 61, .pressure), step(5, 0, .normal),
        ]),
    Scenario(
        name: "an adopted taint (restart in pressure) recovers without waiting for minHold",
        startTainted: true,
        steps: [step(0, 90, .pressure), step(1, 40, .pendingLow), step(121, 40, .normal)]),
]

@Test(arguments: scenarios)
func hysteresis(_ scenario: Scenario) {
    let start = ContinuousClock.now
    var state = SignalState(startingAt: start, tainted: scenario.startTainted)
    for step in scenario.steps {
        state.observe(step.value, at: start + .seconds(step.t), scenario.thresholds)
        #expect(state.phase == step.phase, "at t=\(step.t)s after \(step.value.map { "\($0)" } ?? "no value")")
        #expect(state.tainted == step.tainted, "at t=\(step.t)s")
    }
}

@Test func unknownKeepsTheLastValueForMessages() {
    let start = ContinuousClock.now
    var state = SignalState(startingAt: start)
    state.observe(42.5, at: start, standard)
    state.observe(nil, at: start + .seconds(61), standard)
    #expect(state.phase == .unknown)
    #expect(state.lastPercent == 42.5)
}
