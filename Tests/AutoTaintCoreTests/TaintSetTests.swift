import Testing
@testable import AutoTaintCore

/// A taint with a field the arithmetic knows nothing about, which must survive.
struct FakeTaint: TaintFields, CustomStringConvertible {
    var key: String
    var value: String
    var effect: String
    var extra: String = ""

    var description: String { "\(key)\(value.isEmpty ? "" : "=" + value):\(effect)\(extra.isEmpty ? "" : "[\(extra)]")" }
}

private func taint(_ text: String, extra: String = "") -> FakeTaint {
    let keyValue = text.split(separator: ":")[0].split(separator: "=", omittingEmptySubsequences: false)
    return FakeTaint(key: String(keyValue[0]), value: keyValue.count > 1 ? String(keyValue[1]) : "",
                     effect: String(text.split(separator: ":")[1]), extra: extra)
}

private let cpu = TaintSpec(key: "autotaint.dev/cpu-pressure", value: "true", effect: .noSchedule)
private let memory = TaintSpec(key: "autotaint.dev/memory-pressure", value: "true", effect: .noSchedule)
private let own: Set = [cpu.key, memory.key]
private func make(_ spec: TaintSpec) -> FakeTaint { FakeTaint(key: spec.key, value: spec.value, effect: spec.effect.rawValue) }

struct PlanCase: Sendable, CustomTestStringConvertible {
    var name: String
    var current: [String]
    var wanted: [TaintSpec]
    var result: [String]
    var added: [TaintSpec]
    var removed: [String]
    var testDescription: String { name }
}

@Test(arguments: [
    PlanCase(name: "nothing of ours, nothing wanted: unchanged",
             current: ["a=1:NoSchedule", "b:NoExecute"], wanted: [],
             result: ["a=1:NoSchedule", "b:NoExecute"], added: [], removed: []),
    PlanCase(name: "wanted taint appended after foreign ones",
             current: ["a=1:NoSchedule", "b:NoExecute"], wanted: [cpu],
             result: ["a=1:NoSchedule", "b:NoExecute", "autotaint.dev/cpu-pressure=true:NoSchedule"],
             added: [cpu], removed: []),
    PlanCase(name: "ours already there stays in place: no change",
             current: ["a=1:NoSchedule", "autotaint.dev/cpu-pressure=true:NoSchedule", "b:NoExecute"], wanted: [cpu],
             result: ["a=1:NoSchedule", "autotaint.dev/cpu-pressure=true:NoSchedule", "b:NoExecute"],
             added: [], removed: []),
    PlanCase(name: "ours removed from the middle, foreign order kept",
             current: ["a=1:NoSchedule", "autotaint.dev/cpu-pressure=true:NoSchedule", "b:NoExecute"], wanted: [],
             result: ["a=1:NoSchedule", "b:NoExecute"], added: [],
             removed: ["autotaint.dev/cpu-pressure=true:NoSchedule"]),
    PlanCase(name: "hand-made taint with our key but another value or effect is replaced",
             current: ["autotaint.dev/cpu-pressure=false:NoSchedule", "autotaint.dev/cpu-pressure=true:NoExecute"],
             wanted: [cpu],
             result: ["autotaint.dev/cpu-pressure=true:NoSchedule"], added: [cpu],
             removed: ["autotaint.dev/cpu-pressure=false:NoSchedule", "autotaint.dev/cpu-pressure=true:NoExecute"]),
    PlanCase(name: "a foreign taint with a similar key is not ours",
             current: ["autotaint.dev/cpu-pressure-x=true:NoSchedule", "example.com/autotaint.dev/cpu-pressure:NoSchedule"],
             wanted: [],
             result: ["autotaint.dev/cpu-pressure-x=true:NoSchedule", "example.com/autotaint.dev/cpu-pressure:NoSchedule"],
             added: [], removed: []),
    PlanCase(name: "two signals: one kept, one added, in wanted order",
             current: ["autotaint.dev/memory-pressure=true:NoSchedule"], wanted: [cpu, memory],
             result: ["autotaint.dev/memory-pressure=true:NoSchedule", "autotaint.dev/cpu-pressure=true:NoSchedule"],
             added: [cpu], removed: []),
    PlanCase(name: "a duplicate of ours (added twice by hand) is cut to one",
             current: ["autotaint.dev/cpu-pressure=true:NoSchedule", "autotaint.dev/cpu-pressure=true:NoSchedule"],
             wanted: [cpu],
             result: ["autotaint.dev/cpu-pressure=true:NoSchedule"], added: [],
             removed: ["autotaint.dev/cpu-pressure=true:NoSchedule"]),
    PlanCase(name: "empty list, ours wanted",
             current: [], wanted: [cpu],
             result: ["autotaint.dev/cpu-pressure=true:NoSchedule"], added: [cpu], removed: []),
])
func taintPlan(_ c: PlanCase) {
    let plan = TaintSet.plan(current: c.current.map { taint($0) }, ownKeys: own, wanted: c.wanted, make: make)
    #expect(plan.taints.map(\.description) == c.result)
    #expect(plan.added == c.added)
    #expect(plan.removed.map(\.description) == c.removed)
    #expect(plan.changesSomething == !(c.added.isEmpty && c.removed.isEmpty))
}

@Test func foreignTaintsKeepEveryFieldTheyHad() {
    let foreign = taint("example.com/gpu=busy:NoExecute", extra: "timeAdded=2026-11-23T10:00:00Z")
    let plan = TaintSet.plan(current: [foreign], ownKeys: own, wanted: [cpu], make: make)
    #expect(plan.taints.first == foreign)
}
