import AutoTaintCore
import KubeClient
import Logging
import Synchronization
import Testing
@testable import AutoTaintAgent

private let config = Config()
private let ours = config.signals.cpu.taint
private let foreign = Taint(key: "example.com/gpu", value: "busy", effect: "NoExecute", timeAdded: "2026-11-23T10:00:00Z",
                            otherFields: ["futureField": .string("kept")])
private let start = ContinuousClock.now
private func at(_ seconds: Int) -> Instant { start + .seconds(seconds) }

private func view(pressure: Bool, message: String = "m") -> DesiredNodeView {
    DesiredNodeView(
        ownTaints: pressure ? [ours] : [],
        conditions: [ConditionReport(type: "CPUPressure", status: pressure ? .true : .false,
                                     reason: pressure ? "CPUUsageHigh" : "CPUUsageNormal", message: message)])
}

private func setUp(taints: [Taint] = [foreign], dryRun: Bool = false) async -> (FakeNodeAPI, SyncState) {
    let api = FakeNodeAPI(Node(name: "node-1", uid: "uid-1", resourceVersion: "10", taints: taints))
    let state = SyncState(api: api, config: config, node: await api.node, dryRun: dryRun,
                          logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
    return (api, state)
}

@Test func pressureAddsOurTaintAfterTheForeignOneAndSaysWhy() async {
    var (api, state) = await setUp()
    await state.tick(view(pressure: true, message: "CPU 93.4% >= 80% for 30s (proc)"), config, at: at(0))
    #expect(await api.node.taints == [foreign, Taint(ours)])
    #expect(await api.events == [NodeEvent(reason: "TaintAdded",
        message: "Added taint autotaint.dev/cpu-pressure=true:NoSchedule: CPU 93.4% >= 80% for 30s (proc)")])
    #expect(await api.node.conditions.map(\.status) == ["True"])
}

@Test func aConcurrentWriterIsNeverErased() async {
    var (api, state) = await setUp()
    let other = Taint(key: "other.example/x", value: nil, effect: "NoSchedule")
    await api.interleave { $0.taints.append(other) }
    await state.tick(view(pressure: true), config, at: at(0))
    #expect(await api.node.taints == [foreign, other, Taint(ours)])
    #expect(await api.requests.prefix(3) == ["PATCH taints", "GET node", "PATCH taints"])
}

@Test func steadyStateWritesNothingUntilTheHeartbeat() async {
    var (api, state) = await setUp()
    await state.tick(view(pressure: false), config, at: at(0))
    await api.clearRequests()
    for second in 1..<300 { await state.tick(view(pressure: false, message: "value \(second)"), config, at: at(second)) }
    #expect(await api.requests == [])
    await state.tick(view(pressure: false), config, at: at(300))
    #expect(await api.requests == ["PATCH status"])
}

@Test func heartbeatKeepsTheTransitionTime() async {
    var (api, state) = await setUp()
    await state.tick(view(pressure: false), config, at: at(0))
    let first = await api.node.conditions[0]
    await api.edit { $0.conditions[0].lastTransitionTime = "2026-01-01T00:00:00Z" }
    await state.tick(view(pressure: false), config, at: at(300))
    #expect(first.lastTransitionTime != nil)
    #expect(await api.node.conditions[0].lastTransitionTime == "2026-01-01T00:00:00Z")
    await state.tick(view(pressure: true), config, at: at(301))
    #expect(await api.node.conditions[0].lastTransitionTime != "2026-01-01T00:00:00Z")
}

@Test func aTaintRemovedByHandInPressureIsRestored() async {
    var (api, state) = await setUp()
    await state.tick(view(pressure: true), config, at: at(0))
    await api.edit { $0.taints.removeAll { $0.key == ours.key } }
    await state.observed(await api.node)
    #expect(await api.node.taints == [foreign, Taint(ours)])
    #expect(await api.events.map(\.reason) == ["TaintAdded", "TaintRestored"])
}

@Test func ourKeyAddedByHandWhileNormalIsRemoved() async {
    var (api, state) = await setUp(taints: [Taint(key: ours.key, value: "manual", effect: "NoSchedule"), foreign])
    await state.tick(view(pressure: false), config, at: at(0))
    #expect(await api.node.taints == [foreign])
    #expect(await api.events.map(\.reason) == ["TaintRemoved"])
}

@Test func aDryRunSendsNoWrite() async {
    var (api, state) = await setUp(dryRun: true)
    await state.tick(view(pressure: true), config, at: at(0))
    await state.tick(view(pressure: false), config, at: at(100))
    await state.stop(view(pressure: false).conditions)
    #expect(await api.requests.allSatisfy { $0.hasPrefix("GET") })
    #expect(await api.node.taints == [foreign])
}

@Test func serverErrorsBackOffAndCatchUp() async {
    var (api, state) = await setUp()
    let outage = KubeError(kind: .serverError(503), verb: "PATCH", resource: "nodes/node-1", message: "down")
    await api.failNext("PATCH taints", outage)
    await state.tick(view(pressure: true), config, at: at(0))
    #expect(await api.requests == ["PATCH taints"])
    await state.tick(view(pressure: true), config, at: at(0) + .milliseconds(400))  // within the first backoff (>= 0.5s)
    #expect(await api.requests == ["PATCH taints"])
    await state.tick(view(pressure: true), config, at: at(2))
    #expect(await api.requests == ["PATCH taints", "GET node", "PATCH taints", "POST event", "PATCH status"])
    #expect(await api.node.taints == [foreign, Taint(ours)])
}

@Test func retryAfterIsWaitedOut() async {
    var (api, state) = await setUp()
    await api.failNext("PATCH taints", KubeError(kind: .throttled, verb: "PATCH", resource: "nodes/node-1", message: "slow down",
                                 retryAfter: .seconds(2)))
    await state.tick(view(pressure: true), config, at: at(0))
    await state.tick(view(pressure: true), config, at: at(1))
    #expect(await api.requests == ["PATCH taints"])
    await state.tick(view(pressure: true), config, at: at(2) + .milliseconds(100))  // the 2 s count from the answer
    #expect(await api.node.taints == [foreign, Taint(ours)])
}

@Test func retryAfterCountsFromTheAnswerNotFromTheTick() async {
    var (api, state) = await setUp()
    await api.answerAfter(.milliseconds(300))
    await api.failNext("PATCH taints", KubeError(kind: .throttled, verb: "PATCH", resource: "nodes/node-1", message: "slow down",
                                 retryAfter: .seconds(2)))
    let tick = ContinuousClock.now
    await state.tick(view(pressure: true), config, at: tick)
    let answered = ContinuousClock.now  // at least 300 ms after the tick, however busy the machine
    await state.tick(view(pressure: true), config, at: tick + .seconds(2))  // under 2 s after the 429
    #expect(await api.requests == ["PATCH taints"])
    await state.tick(view(pressure: true), config, at: answered + .seconds(2))
    #expect(await api.node.taints == [foreign, Taint(ours)])
}

@Test(arguments: [KubeError.Kind.transport, .serverError(504), .undecodable])
func aWriteAppliedWithoutAnAnswerIsAnnouncedWhenFoundApplied(_ kind: KubeError.Kind) async {
    var (api, state) = await setUp()
    await api.applyNextTaintPatchButFail(KubeError(kind: kind, verb: "PATCH", resource: "nodes/node-1", message: "lost"))
    await state.tick(view(pressure: true), config, at: at(0))
    #expect(await api.node.taints == [foreign, Taint(ours)])
    #expect(await api.events == [])
    await state.tick(view(pressure: true), config, at: at(2))
    #expect(await api.requests == ["PATCH taints", "GET node", "POST event", "PATCH status"])
    #expect(await api.events.map(\.reason) == ["TaintAdded"])
    await state.tick(view(pressure: true), config, at: at(3))
    #expect(await api.events.map(\.reason) == ["TaintAdded"])
}

@Test func aRefusedWriteFoundAppliedBySomeoneElseIsNotOurs() async {
    var (api, state) = await setUp()
    await api.failNext("PATCH taints", KubeError(kind: .forbidden, verb: "PATCH", resource: "nodes/node-1", message: "no"))
    await state.tick(view(pressure: true), config, at: at(0))
    await api.edit { $0.taints.append(Taint(ours)) }
    await state.tick(view(pressure: true), config, at: at(2))
    #expect(await api.events == [])
}

@Test func conflictsForeverGiveUpAfterBoundedAttempts() async {
    var (api, state) = await setUp()
    let conflict = KubeError(kind: .conflict, verb: "PATCH", resource: "nodes/node-1", message: "modified")
    await api.failNext("PATCH taints", conflict, conflict, conflict, conflict, conflict, conflict, conflict, conflict, conflict, conflict)
    await state.tick(view(pressure: true), config, at: at(0))
    #expect(await api.requests.filter { $0 == "PATCH taints" }.count == 5)
    #expect(await api.node.taints == [foreign])
}

@Test func stoppingRemovesOurTaintAndReportsUnknown() async {
    var (api, state) = await setUp()
    await state.tick(view(pressure: true), config, at: at(0))
    let stopped = [ConditionReport(type: "CPUPressure", status: .unknown, reason: "AgentStopped", message: "stopped")]
    await state.stop(stopped)
    #expect(await api.node.taints == [foreign])
    #expect(await api.node.conditions.map(\.reason) == ["AgentStopped"])
    #expect(await api.events.last == NodeEvent(reason: "TaintRemoved",
        message: "Removed taint autotaint.dev/cpu-pressure=true:NoSchedule: autotaint is stopping on this node"))
}

@Test func adoptionFindsOurExactTaint() {
    let node = Node(name: "n", uid: "u", resourceVersion: "1", taints: [foreign, Taint(ours)])
    #expect(NodeSync.adoptedSignals(config, on: node) == [.cpu])
    let other = Node(name: "n", uid: "u", resourceVersion: "1",
                     taints: [Taint(key: ours.key, value: "false", effect: "NoSchedule")])
    #expect(NodeSync.adoptedSignals(config, on: other) == [])
}

@Test func aTaintKeyDroppedByAReloadIsStillCleanedUp() async {
    var (api, state) = await setUp()
    await state.tick(view(pressure: true), config, at: at(0))
    var renamed = config
    renamed.signals.cpu.taint.key = "autotaint.dev/cpu-hot"
    await state.tick(view(pressure: false), renamed, at: at(100))
    #expect(await api.node.taints == [foreign])
}

/// SyncPacing's promise: after a tick that left nothing pending, no tick is needed until
/// the heartbeat; after a failure, every tick is, until a write succeeds again.
@Test func aSettledNodeNeedsNoTickUntilTheHeartbeatAndAFailedOneEveryTick() async {
    var (api, state) = await setUp()
    #expect(state.quietUntil == nil)
    await state.tick(view(pressure: false), config, at: at(0))
    #expect(state.quietUntil == at(0) + config.heartbeat)
    // A refusal (429: nothing applied, so no write of unknown outcome waits) sets the backoff.
    await api.failNext("PATCH taints", KubeError(kind: .throttled, verb: "PATCH", resource: "nodes/node-1",
                                                 message: "slow down", retryAfter: .seconds(2)))
    await state.tick(view(pressure: true), config, at: at(1))
    #expect(state.quietUntil == nil)
    // A watch event makes the Node fresh again, but the backoff still holds the write back.
    await state.observed(await api.node)
    #expect(state.quietUntil == nil)
    await state.tick(view(pressure: true), config, at: at(5))
    #expect(await api.node.taints == [foreign, Taint(ours)])
    #expect(state.quietUntil == at(5) + config.heartbeat)  // the transition was written at 5
}

/// A watch event between ticks reconciles against the newest view the loop made, not the
/// last one it sent: the Event that restores a taint quotes the newest value.
@Test func aRestoreBetweenTicksQuotesTheNewestView() async {
    var (api, state) = await setUp()
    await state.tick(view(pressure: true, message: "CPU 91.0%"), config, at: at(0))
    await api.edit { $0.taints.removeAll { $0.key == ours.key } }
    await state.observed(await api.node, newest: (view(pressure: true, message: "CPU 97.5%"), config, at(30)))
    #expect(await api.node.taints == [foreign, Taint(ours)])
    #expect(await api.events.last?.message.hasSuffix("CPU 97.5%") == true)
}

@Test func theEndOfStartUpIsTheFirstReconcileThatSucceedsAndComesOnce() async {
    let api = FakeNodeAPI(Node(name: "node-1", uid: "uid-1", resourceVersion: "10", taints: [foreign]))
    let calls = Mutex(0)
    var state = SyncState(api: api, config: config, node: await api.node, dryRun: false,
                          logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }),
                          afterFirstReconcile: { calls.withLock { $0 += 1 } })
    await api.failNext("PATCH taints", KubeError(kind: .serverError(503), verb: "PATCH", resource: "nodes/node-1", message: "down"))
    await state.tick(view(pressure: true), config, at: at(0))
    #expect(calls.withLock { $0 } == 0)
    await state.tick(view(pressure: true), config, at: at(2))
    #expect(calls.withLock { $0 } == 1)
    await state.tick(view(pressure: false), config, at: at(3))
    await state.tick(view(pressure: false), config, at: at(300))
    #expect(calls.withLock { $0 } == 1)
}

/// After an outage the write backoff has grown to half a minute; the watch re-reading the
/// Node says the server is back, and the held-back write goes within seconds, not when the
/// backoff would have let it.
/// Six writes that get no answer, each on a tick where the last wait (1 s doubling, 0.5 to
/// 1 of it) has surely ended, with seconds to spare: a wait counts from the answer, and the
/// time a request takes on a loaded machine (ThreadSanitizer, every suite in parallel) is
/// added to the tick's instant. The sixth, at(45), waits 16 to 32 s: until at(61) at least.
private func sixWritesWithoutAnswer(_ api: FakeNodeAPI, _ state: inout SyncState) async {
    let refused = KubeError(kind: .transport, verb: "PATCH", resource: "nodes/node-1", message: "refused")
    await api.failNext("PATCH taints", refused)
    await api.failNext("GET node", refused, refused, refused, refused, refused)
    for second in [0, 3, 7, 14, 25, 45] { await state.tick(view(pressure: true), config, at: at(second)) }
    #expect(await api.requests.count == 6)
}

@Test func theServersReturnReleasesAWriteHeldBackByAnOutage() async {
    var (api, state) = await setUp()
    await sixWritesWithoutAnswer(api, &state)
    // The watch hears the server:
    await state.observed(await api.node)
    await state.tick(view(pressure: true), config, at: at(49))
    #expect(await api.node.taints == [foreign, Taint(ours)])
    #expect(state.quietUntil != nil)
}

@Test func aRefusalAfterTheServersReturnWaitsTheFirstPeriodNotAMinute() async {
    var (api, state) = await setUp()
    await sixWritesWithoutAnswer(api, &state)
    await state.observed(await api.node)
    // Forbidden, right after the return (an authorizer cache not yet loaded): 0.5 to 1 s.
    await api.failNext("PATCH taints", KubeError(kind: .forbidden, verb: "PATCH", resource: "nodes/node-1", message: "not yet"))
    await state.tick(view(pressure: true), config, at: at(49))
    #expect(await api.requests.suffix(1) == ["PATCH taints"])
    await state.tick(view(pressure: true), config, at: at(50))
    #expect(await api.node.taints == [foreign, Taint(ours)])
}
