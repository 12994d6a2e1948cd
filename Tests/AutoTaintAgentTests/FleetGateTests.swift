import AutoTaintCore
import KubeClient
import Logging
import Synchronization
import Testing
@testable import AutoTaintAgent

/// Slot Leases and a DaemonSet in memory, with the API server's semantics for them: create
/// of an existing name is a 409, an update from a stale resourceVersion is a 409, every
/// write bumps the resourceVersion. It records every request and can be told to fail.
actor FakeFleetAPI: FleetAPI {
    private(set) var leases: [String: Lease] = [:]
    private(set) var requests: [String] = []
    var counts = DaemonSetCounts(desired: 10, ready: 10)
    private var version = 100
    private var failure: KubeError?

    func failAll(_ error: KubeError?) { failure = error }
    func clearRequests() { requests = [] }
    func setCounts(_ counts: DaemonSetCounts) { self.counts = counts }
    /// Another node's write: `holder` takes slot `name` of `fleet`; an empty holder is its
    /// release, or with `prepared` a slot made free that nobody held yet (no acquireTime).
    /// `fleet` nil: a slot from before the fleet label.
    func hold(_ name: String, by holder: String, fleet: String? = "autotaint", prepared: Bool = false) {
        version += 1
        var labels = FleetGate.slotLabels(fleet: fleet ?? "")
        labels[FleetGate.stateLabel] = holder.isEmpty ? "free" : "held"
        if fleet == nil { labels[FleetSlots.fleetLabel] = nil }
        leases[name] = Lease(name: name, resourceVersion: "\(version)", labels: labels, spec: LeaseSpec(
            holderIdentity: holder, leaseDurationSeconds: 120, acquireTime: prepared ? nil : "2026-12-07T10:00:00.000000Z"))
    }

    func daemonSetCounts(namespace: String, daemonSet: String) async throws(KubeError) -> DaemonSetCounts {
        try exchange("GET daemonset")
        return counts
    }

    func lease(namespace: String, name: String) async throws(KubeError) -> Lease? {
        try exchange("GET \(name)")
        return leases[name]
    }

    /// Equality selectors only (`k=v,k=v`), as the gate sends them; name order, as etcd's.
    func leases(namespace: String, labelSelector: String, limit: Int?) async throws(KubeError) -> [Lease] {
        try exchange("LIST leases \(labelSelector)")
        let wanted = labelSelector.split(separator: ",").map { $0.split(separator: "=", maxSplits: 1).map(String.init) }
        let matching = leases.values.filter { lease in wanted.allSatisfy { lease.labels[$0[0]] == $0[1] } }
            .sorted { $0.name < $1.name }
        return limit.map { Array(matching.prefix($0)) } ?? matching
    }

    func createLease(namespace: String, _ lease: Lease) async throws(KubeError) -> Lease {
        try exchange("POST \(lease.name)")
        guard leases[lease.name] == nil else {
            throw KubeError(kind: .conflict, verb: "POST", resource: "leases", message: "already exists")
        }
        version += 1
        var created = lease
        created.resourceVersion = "\(version)"
        leases[lease.name] = created
        return created
    }

    func updateLease(namespace: String, name: String, resourceVersion: String, labels: [String: String],
                     _ spec: LeaseSpec) async throws(KubeError) -> Lease
    {
        let state = labels[FleetGate.stateLabel].map { " state=\($0)" } ?? ""
        try exchange("PATCH \(name) holder=\(spec.holderIdentity ?? "-")\(state)")
        guard var lease = leases[name], lease.resourceVersion == resourceVersion else {
            throw KubeError(kind: .conflict, verb: "PATCH", resource: "leases/\(name)", message: "modified")
        }
        version += 1
        lease.resourceVersion = "\(version)"
        lease.labels.merge(labels) { $1 }
        if let holder = spec.holderIdentity { lease.spec.holderIdentity = holder }
        if let renewTime = spec.renewTime { lease.spec.renewTime = renewTime }
        leases[name] = lease
        return lease
    }

    private func exchange(_ request: String) throws(KubeError) {
        requests.append(request)
        if let failure { throw failure }
    }
}

private let config: Config = {
    var config = Config()
    config.fleet.leaseDuration = .seconds(30)
    return config
}()
private let hard = config.signals.cpu.taint
private let soft = TaintSpec(key: hard.key, value: hard.value, effect: .preferNoSchedule)
private let start = ContinuousClock.now
private func at(_ seconds: Int) -> Instant { start + .seconds(seconds) }
private func slotName(_ index: Int) -> String { FleetSlots.leaseName(index, fleet: "autotaint") }

private func view(pressure: Bool) -> DesiredNodeView {
    DesiredNodeView(
        ownTaints: pressure ? [hard] : [],
        conditions: [ConditionReport(type: "CPUPressure", status: pressure ? .true : .false,
                                     reason: pressure ? "CPUUsageHigh" : "CPUUsageNormal",
                                     message: pressure ? "CPU 93.4% >= 80% for 30s (proc)" : "CPU 10% < 80% (proc)")])
}

/// The guard's clock: each tick moves it to the tick's instant (a tick on time), unless a
/// test moved it further (a tick that reaches the guard late).
final class TestClock: Sendable {
    private let instant = Mutex(start)

    var now: Instant { instant.withLock { $0 } }

    func advance(to later: Instant) {
        instant.withLock { $0 = max($0, later) }
    }

    func tick(_ sync: inout SyncState, _ view: DesiredNodeView, _ config: Config, at tick: Instant) async {
        advance(to: tick)
        await sync.tick(view, config, at: tick)
    }
}

private func setUp(taints: [Taint] = [], dryRun: Bool = false, config: Config = config, podGeneration: Int? = nil) async
    -> (FakeNodeAPI, FakeFleetAPI, SyncState, TestClock)
{
    let nodes = FakeNodeAPI(Node(name: "node-1", uid: "uid-1", resourceVersion: "10", taints: taints))
    let fleet = FakeFleetAPI()
    let clock = TestClock()
    let state = SyncState(api: nodes, config: config, node: await nodes.node, dryRun: dryRun,
                          logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }),
                          pod: AgentPod(api: fleet, namespace: "autotaint", templateGeneration: podGeneration), clock: { clock.now }, pause: { clock.advance(to: clock.now + $0) })
    return (nodes, fleet, state, clock)
}

/// Every slot of K = 3 (N = 10) held by other nodes.
private func fillSlots(_ fleet: FakeFleetAPI) async {
    for index in 0..<3 { await fleet.hold(slotName(index), by: "node-other-\(index)") }
}

@Suite("FleetGate: the guard between the view and the Node write")
struct FleetGateTests {
    @Test func notInPressureMakesNoGuardRequest() async {
        let (_, fleet, state, clock) = await setUp()
        var sync = state
        for second in 0..<60 { await clock.tick(&sync, view(pressure: false), config, at: at(second)) }
        #expect(await fleet.requests == [])
    }

    @Test func aFreeSlotLetsTheHardTaintThrough() async {
        let (nodes, fleet, state, clock) = await setUp()
        var sync = state
        await clock.tick(&sync, view(pressure: true), config, at: at(0))
        #expect(await nodes.node.taints == [Taint(hard)])
        let own = FleetSlots.firstSlot(for: "node-1", slots: 3)
        let slot = slotName(own)
        // It created its slot, so the fleet's slots may not exist yet: it creates the next
        // one free, for the LIST of free slots to find.
        let next = slotName((own + 1) % 3)
        #expect(await fleet.requests == ["GET daemonset", "GET \(slot)", "POST \(slot)", "POST \(next)"])
        #expect(await fleet.leases[slot]?.spec.holderIdentity == "node-1")
        #expect(await fleet.leases[slot]?.labels == [
            "app.kubernetes.io/name": "autotaint", "autotaint.dev/role": "fleet-slot", "autotaint.dev/fleet": "autotaint",
            "autotaint.dev/slot-state": "held",
        ])
        #expect(await fleet.leases[next]?.spec.holderIdentity == "")
        #expect(await fleet.leases[next]?.labels[FleetGate.stateLabel] == "free")
        #expect(await fleet.leases[next]?.labels[FleetSlots.fleetLabel] == "autotaint")
    }

    /// A slot taken (it existed), not created: nothing else is created.
    @Test func takingAnExistingSlotPreparesNothing() async {
        let (_, fleet, state, clock) = await setUp()
        let own = FleetSlots.firstSlot(for: "node-1", slots: 3)
        await fleet.hold(slotName(own), by: "")
        var sync = state
        await clock.tick(&sync, view(pressure: true), config, at: at(0))
        #expect(await fleet.requests == ["GET daemonset", "GET \(slotName(own))", "PATCH \(slotName(own)) holder=node-1 state=held"])
    }

    /// A slot some node prepared (free, no acquireTime) taken: the taker prepares the next,
    /// so a new fleet's chain of free slots goes on past the first take.
    @Test func takingAPreparedSlotPreparesTheNext() async {
        let (_, fleet, state, clock) = await setUp()
        let own = FleetSlots.firstSlot(for: "node-1", slots: 3)
        let other = (own + 1) % 3
        await fleet.hold(slotName(own), by: "node-x")
        await fleet.hold(slotName(other), by: "", prepared: true)
        var sync = state
        await clock.tick(&sync, view(pressure: true), config, at: at(0))
        #expect(await fleet.requests == [
            "GET daemonset", "GET \(slotName(own))", "LIST leases autotaint.dev/role=fleet-slot,autotaint.dev/fleet=autotaint,autotaint.dev/slot-state=free",
            "PATCH \(slotName(other)) holder=node-1 state=held", "POST \(slotName((other + 1) % 3))",
        ])
    }

    @Test func noSlotWritesPreferNoScheduleAndSaysWhy() async {
        let (nodes, fleet, state, clock) = await setUp()
        await fillSlots(fleet)
        var sync = state
        await clock.tick(&sync, view(pressure: true), config, at: at(0))
        #expect(await nodes.node.taints == [Taint(soft)])
        let condition = await nodes.node.conditions[0]
        #expect(condition.status == "True")
        #expect(condition.message
            == "CPU 93.4% >= 80% for 30s (proc); fleet limit: 3 of 10 nodes (30%) hold a slot (N: 10 ready of 10 scheduled); PreferNoSchedule instead")
        let reasons = await nodes.events.map(\.reason)
        #expect(reasons == ["FleetLimitReached", "TaintAdded"])
        #expect(await nodes.events[0].kind == .warning)
        // Once per entry into overflow, not per tick.
        await clock.tick(&sync, view(pressure: true), config, at: at(1))
        await clock.tick(&sync, view(pressure: true), config, at: at(2))
        #expect(await nodes.events.count == 2)
    }

    @Test func aReleasedSlotHardensTheTaintWithOneEvent() async {
        let (nodes, fleet, state, clock) = await setUp()
        await fillSlots(fleet)
        var sync = state
        await clock.tick(&sync, view(pressure: true), config, at: at(0))
        // Released by its holder: not the slot this node watches, so only the LIST of free
        // slots finds it, at the next attempt: at N = 10 within the onset window (0.5 s) and
        // the 5 s cap after it.
        let watched = FleetSlots.firstSlot(for: "node-1", slots: 3)
        let released = slotName((watched + 1) % 3)
        await fleet.hold(released, by: "")
        for second in 1...6 { await clock.tick(&sync, view(pressure: true), config, at: at(second)) }
        #expect(await nodes.node.taints == [Taint(hard)])
        #expect(await fleet.leases[released]?.spec.holderIdentity == "node-1")
        #expect(await fleet.requests.filter { $0.hasPrefix("GET autotaint-slot") }.count == 1, "its watched slot probed once")
        let last = await nodes.events.last
        #expect(last?.reason == "TaintAdded")
        #expect(last?.message.hasPrefix("Hardened taint autotaint.dev/cpu-pressure=true:NoSchedule (was PreferNoSchedule)") == true)
        #expect(await !nodes.events.contains { $0.reason == "TaintRemoved" })
        #expect(await nodes.node.conditions[0].message == "CPU 93.4% >= 80% for 30s (proc)")
    }

    @Test func leavingPressureReleasesTheSlotAfterTheTaintIsGone() async {
        let (nodes, fleet, state, clock) = await setUp()
        var sync = state
        await clock.tick(&sync, view(pressure: true), config, at: at(0))
        await fleet.clearRequests()
        await nodes.clearRequests()
        await clock.tick(&sync, view(pressure: false), config, at: at(1))
        #expect(await nodes.node.taints == [])
        let slot = slotName(FleetSlots.firstSlot(for: "node-1", slots: 3))
        #expect(await fleet.requests == ["PATCH \(slot) holder= state=free"])
        #expect(await fleet.leases[slot]?.labels[FleetGate.stateLabel] == "free")
        #expect(await fleet.leases[slot]?.spec.holderIdentity == "")
        #expect(await nodes.requests.first == "PATCH taints")
    }

    @Test func holderRenewsEveryThirdOfTheLeaseDurationOnly() async {
        let (_, fleet, state, clock) = await setUp()
        var sync = state
        await clock.tick(&sync, view(pressure: true), config, at: at(0))
        await fleet.clearRequests()
        for second in 1...60 { await clock.tick(&sync, view(pressure: true), config, at: at(second)) }
        let slot = slotName(FleetSlots.firstSlot(for: "node-1", slots: 3))
        // Due every 10 s from the acquisition, on the ticks at 10, 20, … 60 s (the fake
        // answers in no time; in a real run the acquisition may go out a moment after its
        // tick, and the first renewal is one tick late).
        // And N, at its phase of the 75 s period: at most once in 60 s.
        let requests = await fleet.requests
        let renewals = requests.filter { $0 != "GET daemonset" }
        #expect(renewals.allSatisfy { $0 == "PATCH \(slot) holder=node-1" })
        #expect((5...6).contains(renewals.count))
        #expect(requests.count - renewals.count <= 1)
        #expect(sync.quietUntil.map { $0 <= at(70) } ?? true)
    }

    @Test func aTickThatReachesTheGuardLateDoesNotJudgeALiveHoldersSlotExpired() async {
        let (nodes, fleet, state, clock) = await setUp()
        let own = FleetSlots.firstSlot(for: "node-1", slots: 3)
        let slot = slotName(own)
        for other in 1...2 { await fleet.hold(slotName((own + other) % 3), by: "node-other-\(other)") }
        var sync = state
        await clock.tick(&sync, view(pressure: true), config, at: at(0))
        #expect(await fleet.leases[slot]?.spec.holderIdentity == "node-1")
        // Stopped for 200 s: its slot expired and node-5 took it over; it renews every 40 s
        // (a third of its record's 120 s), last at 190 s. The tick due at 12 s, when a
        // renewal was due, runs at 200 s: the renewal meets a 409 and the probe that follows
        // sees node-5's record, at 200 s, not at 12.
        await fleet.hold(slot, by: "node-5")
        clock.advance(to: at(200))
        await clock.tick(&sync, view(pressure: true), config, at: at(12))
        await fleet.clearRequests()
        for second in 201...260 {
            if second == 230 { await fleet.hold(slot, by: "node-5") }
            await clock.tick(&sync, view(pressure: true), config, at: at(second))
        }
        #expect(await fleet.leases[slot]?.spec.holderIdentity == "node-5")
        #expect(await !fleet.requests.contains("PATCH \(slot) holder=node-1 state=held"))
        #expect(await nodes.node.taints == [Taint(soft)])
    }

    @Test func forbiddenLeasesFailSafe() async {
        let (nodes, fleet, state, clock) = await setUp()
        await fleet.failAll(KubeError(kind: .forbidden, verb: "GET", resource: "daemonsets/autotaint",
                                      message: "daemonsets.apps \"autotaint\" is forbidden"))
        var sync = state
        await clock.tick(&sync, view(pressure: true), config, at: at(0))
        #expect(await nodes.node.taints == [Taint(soft)])
        let message = await nodes.node.conditions[0].message ?? ""
        #expect(message.contains("fleet guard: no slot: leases or the DaemonSet forbidden (apply the current rbac.yaml)"))
        #expect(await nodes.events.first?.reason == "FleetLimitReached")
        #expect(await nodes.events.first?.message == message)
    }

    @Test func startWithAHardTaintKeepsItOnlyWithItsOwnSlot() async {
        // Its own slot from before the restart.
        let (kept, keptFleet, keptState, keptClock) = await setUp(taints: [Taint(hard)])
        await keptFleet.hold("autotaint-slot-2", by: "node-1")
        await keptFleet.hold("autotaint-slot-0", by: "node-x")
        await keptFleet.hold("autotaint-slot-1", by: "node-y")
        var sync = keptState
        await keptClock.tick(&sync, view(pressure: true), config, at: at(0))
        #expect(await kept.node.taints == [Taint(hard)])
        #expect(await keptFleet.requests
            == ["GET daemonset", "LIST leases autotaint.dev/role=fleet-slot", "PATCH autotaint-slot-2 holder=node-1 state=held"])

        // No slot of its own and none free: downgraded on the first tick.
        let (lost, lostFleet, lostState, lostClock) = await setUp(taints: [Taint(hard)])
        await fillSlots(lostFleet)
        var other = lostState
        await lostClock.tick(&other, view(pressure: true), config, at: at(0))
        #expect(await lost.node.taints == [Taint(soft)])
    }

    /// A small fleet: the first attempt, due within a second, is waited for in the step, so
    /// the taint goes on hard at once, never soft for a moment first; the first time (N read
    /// on entering pressure) and every time after.
    @Test func aSmallFleetsFirstAttemptIsWaitedForNotWrittenSoftFirst() async {
        let (nodes, fleet, state, clock) = await setUp()
        var sync = state
        await clock.tick(&sync, view(pressure: false), config, at: at(0))
        for second in 1...40 {
            let pressure = (10..<20).contains(second) || second >= 30
            await clock.tick(&sync, view(pressure: pressure), config, at: at(second))
            #expect(await nodes.node.taints == (pressure ? [Taint(hard)] : []), "at \(second) s")
        }
        #expect(await !nodes.events.contains { $0.reason == "FleetLimitReached" })
        #expect(await nodes.events.filter { $0.reason == "TaintAdded" }.count == 2)
        #expect(await fleet.requests.prefix(1) == ["GET daemonset"])
    }

    /// A large fleet: the first attempt waits its share of N × 50 ms (N read on entering
    /// pressure), the taint is written PreferNoSchedule meanwhile with a condition that says
    /// so, and no FleetLimitReached Event: it has not found the limit, it waits its turn.
    @Test func aLargeFleetsFirstAttemptWaitsItsTurnWrittenSoft() async {
        let (nodes, fleet, state, clock) = await setUp()
        await fleet.setCounts(DaemonSetCounts(desired: 4000, ready: 4000))
        var sync = state
        await clock.tick(&sync, view(pressure: false), config, at: at(0))
        await fleet.clearRequests()
        // Its onset is uniform over 200 s: soft from the first tick until its turn, unless
        // its turn fell within the first second (0.5 %).
        var hardFrom: Int?
        for second in 1...201 {
            await clock.tick(&sync, view(pressure: true), config, at: at(second))
            let taints = await nodes.node.taints
            if taints == [Taint(hard)] {
                hardFrom = hardFrom ?? second
            } else {
                #expect(hardFrom == nil && taints == [Taint(soft)])
                let message = await nodes.node.conditions[0].message ?? ""
                #expect(message.hasSuffix(
                    "; fleet guard: no slot yet: first attempt spread over 3m20s (N × 50ms, N: 4000 ready of 4000 scheduled); PreferNoSchedule instead"),
                    "\(message)")
                #expect(await fleet.requests == ["GET daemonset"], "N read, nothing else before its turn")
            }
        }
        #expect(hardFrom != nil, "its attempt came within the window")
        #expect(await !nodes.events.contains { $0.reason == "FleetLimitReached" })
    }

    /// A successor after a rolling update: N as its predecessor read it (its conditions'
    /// message) spreads the first attempt without a read of its own; the read comes before
    /// the slot is taken, where N counts as old.
    @Test func aHandedOverFleetSizeSpreadsTheFirstAttemptWithoutARead() async {
        let handed = StopPlan.handOver("x", fleetSize: 4000).conditions(view(pressure: false).conditions)[0]
        let nodes = FakeNodeAPI(Node(name: "node-1", uid: "uid-1", resourceVersion: "10", conditions: [
            NodeCondition(type: handed.type, status: handed.status.rawValue, reason: handed.reason, message: handed.message),
        ]))
        let fleet = FakeFleetAPI()
        await fleet.setCounts(DaemonSetCounts(desired: 4000, ready: 4000))
        let clock = TestClock()
        var sync = SyncState(api: nodes, config: config, node: await nodes.node, dryRun: false,
                             logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }),
                             pod: AgentPod(api: fleet, namespace: "autotaint", templateGeneration: 2),
                             clock: { clock.now }, pause: { clock.advance(to: clock.now + $0) })
        var hardFrom: Int?
        for second in 0...201 {
            await clock.tick(&sync, view(pressure: true), config, at: at(second))
            if await nodes.node.taints == [Taint(hard)] {
                hardFrom = hardFrom ?? second
            } else {
                let message = await nodes.node.conditions[0].message ?? ""
                #expect(message.contains("first attempt spread over 3m20s (N × 50ms, N: 4000 as the replaced agent read it)"),
                        "\(message)")
                #expect(await fleet.requests == [])
            }
        }
        #expect(hardFrom != nil)
        // The fleet ran before it: a free slot is asked for first; none exists here, so its
        // own is probed and created, after N is read.
        let own = slotName(FleetSlots.firstSlot(for: "node-1", slots: 1200))
        #expect(await fleet.requests.prefix(4) == [
            "LIST leases autotaint.dev/role=fleet-slot,autotaint.dev/fleet=autotaint,autotaint.dev/slot-state=free",
            "GET \(own)", "GET daemonset", "POST \(own)"])
    }

    /// Two DaemonSets in one namespace: the gpu pool's agent works on its own slots only,
    /// and a free slot of the other fleet is not one of its own.
    @Test func slotsAreNamedAndLabelledByTheirDaemonSet() async {
        var gpu = config
        gpu.fleet.daemonSet = "autotaint-gpu"
        let (nodes, fleet, state, clock) = await setUp(config: gpu)
        for index in 0..<3 {
            await fleet.hold("autotaint-gpu-slot-\(index)", by: "node-other-\(index)", fleet: "autotaint-gpu")
            await fleet.hold(slotName(index), by: "")
        }
        var sync = state
        await clock.tick(&sync, view(pressure: true), gpu, at: at(0))
        #expect(await nodes.node.taints == [Taint(soft)])
        let watched = FleetSlots.firstSlot(for: "node-1", slots: 3)
        #expect(await fleet.requests == [
            "GET daemonset", "GET autotaint-gpu-slot-\(watched)",
            "LIST leases autotaint.dev/role=fleet-slot,autotaint.dev/fleet=autotaint-gpu,autotaint.dev/slot-state=free",
        ])
        // One of its own comes free: taken, under its own name and label, at its next attempt
        // (within the onset window, 0.5 s at N = 10, and the 5 s cap after it).
        await fleet.hold("autotaint-gpu-slot-\((watched + 1) % 3)", by: "", fleet: "autotaint-gpu")
        for second in 1...6 { await clock.tick(&sync, view(pressure: true), gpu, at: at(second)) }
        #expect(await nodes.node.taints == [Taint(hard)])
        let taken = await fleet.leases["autotaint-gpu-slot-\((watched + 1) % 3)"]
        #expect(taken?.spec.holderIdentity == "node-1")
        #expect(taken?.labels[FleetSlots.fleetLabel] == "autotaint-gpu")
        for index in 0..<3 { #expect(await fleet.leases[slotName(index)]?.spec.holderIdentity == "") }
        // A reload naming another DaemonSet does not move it to that fleet: it renews its own
        // slot (fleet.daemonSet applies at the next start).
        await fleet.clearRequests()
        for second in 7...20 { await clock.tick(&sync, view(pressure: true), config, at: at(second)) }
        #expect(await fleet.requests.allSatisfy { $0.hasPrefix("PATCH autotaint-gpu-slot-") || $0 == "GET daemonset" })
        #expect(await nodes.node.taints == [Taint(hard)])
    }

    /// An upgrade: the slot this node held under the old name scheme (`autotaint-slot-<i>`,
    /// no fleet label) is the default fleet's; it is found at start, kept, and labelled.
    @Test func aSlotFromBeforeTheFleetLabelIsFoundAndLabelled() async {
        let (nodes, fleet, state, clock) = await setUp(taints: [Taint(hard)])
        await fleet.hold(slotName(2), by: "node-1", fleet: nil)
        await fleet.hold(slotName(0), by: "node-x", fleet: nil)
        await fleet.hold(slotName(1), by: "node-y", fleet: nil)
        // Another fleet's slot naming this node (a node that moved pools) is not its own.
        await fleet.hold("autotaint-gpu-slot-0", by: "node-1", fleet: "autotaint-gpu")
        var sync = state
        await clock.tick(&sync, view(pressure: true), config, at: at(0))
        #expect(await nodes.node.taints == [Taint(hard)])
        #expect(await fleet.requests.last == "PATCH \(slotName(2)) holder=node-1 state=held")
        #expect(await fleet.leases[slotName(2)]?.labels[FleetSlots.fleetLabel] == "autotaint")
        #expect(await fleet.leases["autotaint-gpu-slot-0"]?.spec.holderIdentity == "node-1")
    }

    /// A zone of 6 of 20 nodes down: 4 slots of the 14 left, and the condition says where
    /// N came from.
    @Test func aFailedZoneShrinksKAndTheConditionSaysWhy() async {
        let (nodes, fleet, state, clock) = await setUp()
        await fleet.setCounts(DaemonSetCounts(desired: 20, ready: 14, available: 14, updated: 20))
        for index in 0..<4 { await fleet.hold(slotName(index), by: "node-other-\(index)") }
        var sync = state
        await clock.tick(&sync, view(pressure: true), config, at: at(0))
        #expect(await nodes.node.taints == [Taint(soft)])
        #expect(await nodes.node.conditions[0].message
            == "CPU 93.4% >= 80% for 30s (proc); fleet limit: 4 of 14 nodes (30%) hold a slot (N: 14 ready of 20 scheduled); PreferNoSchedule instead")
    }

    /// The holder of slot 5 of K = 6 when a zone fails (K 4): soft, then released, at its
    /// next read of N, at most 75 s after the last.
    @Test func aHolderBeyondAShrunkKShedsAndReleasesWithinItsReread() async {
        let (nodes, fleet, state, clock) = await setUp()
        await fleet.setCounts(DaemonSetCounts(desired: 20, ready: 20, available: 20, updated: 20))
        // Slot 5 is the only free one: node-1 takes it.
        for index in 0..<5 { await fleet.hold(slotName(index), by: "node-other-\(index)") }
        await fleet.hold(slotName(5), by: "")
        var sync = state
        await clock.tick(&sync, view(pressure: true), config, at: at(0))
        #expect(await nodes.node.taints == [Taint(hard)])
        #expect(await fleet.leases[slotName(5)]?.spec.holderIdentity == "node-1")
        await fleet.setCounts(DaemonSetCounts(desired: 20, ready: 14, available: 14, updated: 20))
        await fleet.clearRequests()
        var softAt: Int?
        for second in 1...77 {
            await clock.tick(&sync, view(pressure: true), config, at: at(second))
            if await nodes.node.taints == [Taint(soft)] { softAt = softAt ?? second }
        }
        #expect(softAt.map { $0 <= 76 } == true, "soft at \(softAt.map(String.init) ?? "never")")
        // Hard until the read that told it: one read, the one that made it soft.
        let reads = await fleet.requests.filter { $0 == "GET daemonset" }.count
        #expect(reads == 1)
        #expect(await nodes.node.taints == [Taint(soft)])
        #expect(await fleet.leases[slotName(5)]?.spec.holderIdentity == "")
        #expect(await fleet.leases[slotName(5)]?.labels[FleetGate.stateLabel] == "retired")
    }

    @Test func dryRunOnlyReads() async {
        let (nodes, fleet, state, clock) = await setUp(dryRun: true)
        var sync = state
        await clock.tick(&sync, view(pressure: true), config, at: at(0))
        let slot = slotName(FleetSlots.firstSlot(for: "node-1", slots: 3))
        #expect(await fleet.requests == ["GET daemonset", "GET \(slot)"])
        #expect(await fleet.leases.isEmpty)
        #expect(await nodes.requests == [])
        for second in 1...30 { await clock.tick(&sync, view(pressure: true), config, at: at(second)) }
        #expect(await fleet.requests.allSatisfy { $0.hasPrefix("GET") })
    }

    @Test func guardOffMakesNoRequest() async {
        var off = config
        off.fleet.maxTaintedPercent = 0
        let (nodes, fleet, state, clock) = await setUp()
        var sync = state
        await clock.tick(&sync, view(pressure: true), off, at: at(0))
        #expect(await nodes.node.taints == [Taint(hard)])
        #expect(await fleet.requests == [])
    }

    /// The node that lost its slot while cut off: its Node writes still fail for a while.
    private func loseTheSlot() async -> (FakeNodeAPI, FakeFleetAPI, SyncState, TestClock) {
        let (nodes, fleet, state, clock) = await setUp()
        var sync = state
        await clock.tick(&sync, view(pressure: true), config, at: at(0))
        // Cut off from the Leases: the renewals fail.
        await fleet.failAll(KubeError(kind: .transport, verb: "PATCH", resource: "leases", message: "refused"))
        for second in 1...19 { await clock.tick(&sync, view(pressure: true), config, at: at(second)) }
        #expect(await nodes.node.taints == [Taint(hard)])
        return (nodes, fleet, sync, clock)
    }

    /// The next 13 Node writes get no answer: a taint PATCH, then the re-reads before each retry.
    private func thirteenNodeWritesWithoutAnswer(_ nodes: FakeNodeAPI) async {
        let refused = KubeError(kind: .transport, verb: "PATCH", resource: "nodes/node-1", message: "refused")
        await nodes.failNext("PATCH taints", refused)
        await nodes.failNext("GET node", refused, refused, refused, refused, refused, refused, refused, refused,
                             refused, refused, refused, refused)
    }

    @Test func aLostSlotIsShedOnItsOwnShortBackoff() async {
        var (nodes, _, sync, clock) = await loseTheSlot()
        // At 2/3 of the lease duration it counts itself without a slot; its Node writes fail
        // 13 times more. Shedding retries sooner than the write backoff (1 s doubling to
        // 60 s), but backs off all the same: full jitter up to 4 s, not every tick.
        await thirteenNodeWritesWithoutAnswer(nodes)
        await nodes.clearRequests()
        for second in 20...33 { await clock.tick(&sync, view(pressure: true), config, at: at(second)) }
        // Retrying every tick, the 14th tick would have shed it.
        let attempts = await nodes.requests.filter { $0 != "POST event" }.count
        #expect(attempts < 12, "\(attempts) attempts in 14 ticks")
        #expect(await nodes.node.taints == [Taint(hard)])
        // 13 failures wait at most 1 + 2 + 11 × 4 s.
        for second in 34...90 { await clock.tick(&sync, view(pressure: true), config, at: at(second)) }
        #expect(await nodes.node.taints == [Taint(soft)])
    }

    /// Cut off from the Node too, it leaves pressure: its stale hard taint is a slotless one,
    /// shed on the short backoff (13 failures: at most 1 + 2 + 11 × 4 s), not the write
    /// backoff's (at least 0.5 + 1 + … + 30 + 30 s = 121.5 s).
    @Test func aStaleHardTaintWithoutASlotIsShedOnTheShortBackoffOutOfPressureToo() async {
        var (nodes, _, sync, clock) = await loseTheSlot()
        await thirteenNodeWritesWithoutAnswer(nodes)
        for second in 20...90 { await clock.tick(&sync, view(pressure: false), config, at: at(second)) }
        #expect(await nodes.node.taints == [])
    }

    @Test func aSlotLostWhileCutOffIsReleasedOnceTheServerAnswers() async {
        var (nodes, fleet, sync, clock) = await loseTheSlot()
        let slot = slotName(FleetSlots.firstSlot(for: "node-1", slots: 3))
        // Pressure ends while still cut off from the Leases: the taint goes, the slot stays
        // named after this node, which no longer counts it as its own.
        for second in 20...24 { await clock.tick(&sync, view(pressure: false), config, at: at(second)) }
        #expect(await nodes.node.taints == [])
        #expect(await fleet.leases[slot]?.spec.holderIdentity == "node-1")
        await fleet.failAll(nil)
        await fleet.clearRequests()
        for second in 25...35 { await clock.tick(&sync, view(pressure: false), config, at: at(second)) }
        let requests = await fleet.requests
        #expect(requests.suffix(2) == ["GET \(slot)", "PATCH \(slot) holder= state=free"])
        #expect(await fleet.leases[slot]?.spec.holderIdentity == "")
    }

    @Test func aSlotLostWhileCutOffIsTakenBackNotReleasedWhileStillInPressure() async {
        var (nodes, fleet, sync, clock) = await loseTheSlot()
        let slot = slotName(FleetSlots.firstSlot(for: "node-1", slots: 3))
        // Still cut off from the Leases: the taint goes soft, the guard's attempts back off.
        for second in 20...26 { await clock.tick(&sync, view(pressure: true), config, at: at(second)) }
        #expect(await nodes.node.taints == [Taint(soft)])
        await fleet.failAll(nil)
        await fleet.clearRequests()
        // Back, on a tick where the guard's backoff still holds its next attempt.
        await clock.tick(&sync, view(pressure: true), config, at: at(26) + .milliseconds(100))
        for second in 27...40 { await clock.tick(&sync, view(pressure: true), config, at: at(second)) }
        #expect(await !fleet.requests.contains { $0.hasPrefix("PATCH \(slot) holder= ") })
        #expect(await fleet.leases[slot]?.spec.holderIdentity == "node-1")
        #expect(await nodes.node.taints == [Taint(hard)])
    }

    @Test func aLostSlotTakenByAnotherNodeIsLeftAlone() async {
        var (nodes, fleet, sync, clock) = await loseTheSlot()
        let slot = slotName(FleetSlots.firstSlot(for: "node-1", slots: 3))
        for second in 20...24 { await clock.tick(&sync, view(pressure: false), config, at: at(second)) }
        #expect(await nodes.node.taints == [])
        await fleet.hold(slot, by: "node-7")
        await fleet.failAll(nil)
        await fleet.clearRequests()
        for second in 25...35 { await clock.tick(&sync, view(pressure: false), config, at: at(second)) }
        #expect(await fleet.requests == ["GET \(slot)"])
        #expect(await fleet.leases[slot]?.spec.holderIdentity == "node-7")
    }

    @Test(arguments: [
        (KubeError.Kind.unauthorized, "leases/autotaint-slot-0", FleetFailure.Cause.unauthorized),
        (.forbidden, "leases/autotaint-slot-0", .forbidden),
        (.notFound, "daemonsets/autotaint", .daemonSetNotFound),
        (.transport, "leases", .unreachable),
        (.throttled, "leases", .serverError),
        (.serverError(503), "leases", .serverError),
        (.notFound, "leases/autotaint-slot-0", .invalidResponse),
    ])
    func failuresAreNamedByTheirCause(kind: KubeError.Kind, resource: String, cause: FleetFailure.Cause) {
        #expect(FleetGate.failure(KubeError(kind: kind, verb: "GET", resource: resource, message: "m")).cause == cause)
    }

    @Test func aFailedReleaseIsTriedAgain() async {
        let (_, fleet, state, clock) = await setUp()
        var sync = state
        await clock.tick(&sync, view(pressure: true), config, at: at(0))
        let slot = slotName(FleetSlots.firstSlot(for: "node-1", slots: 3))
        await fleet.failAll(KubeError(kind: .serverError(503), verb: "PATCH", resource: "leases", message: "down"))
        await clock.tick(&sync, view(pressure: false), config, at: at(1))
        #expect(await fleet.leases[slot]?.spec.holderIdentity == "node-1")
        await fleet.failAll(nil)
        for second in 2...12 { await clock.tick(&sync, view(pressure: false), config, at: at(second)) }
        #expect(await fleet.leases[slot]?.spec.holderIdentity == "")
    }
}

@Suite("Stopping: hand over to the pod a rolling update starts, else clean up")
struct StoppingTests {
    /// node-1 in pressure holding its slot; its pod is of template generation 1, the
    /// DaemonSet at `generation` and template generation `template` (by default the same:
    /// every spec change a template change).
    private func holding(generation: Int, template: Int? = nil, deleting: Bool = false) async
        -> (FakeNodeAPI, FakeFleetAPI, SyncState)
    {
        let (nodes, fleet, state, clock) = await setUp(podGeneration: 1)
        await fleet.setCounts(DaemonSetCounts(desired: 10, ready: 10, updated: 10, generation: generation,
                                              observedGeneration: generation, deleting: deleting,
                                              templateGeneration: template ?? generation))
        var sync = state
        await clock.tick(&sync, view(pressure: true), config, at: at(0))
        #expect(await nodes.node.taints == [Taint(hard)])
        await fleet.clearRequests()
        await nodes.clearRequests()
        return (nodes, fleet, sync)
    }

    @Test func aRollingUpdateLeavesTaintSlotAndConditionStatus() async {
        var (nodes, fleet, sync) = await holding(generation: 2)
        let eventsBefore = await nodes.events
        await sync.stop(view(pressure: true).conditions)
        #expect(await nodes.node.taints == [Taint(hard)])
        #expect(await nodes.requests == ["PATCH status"])
        let condition = await nodes.node.conditions[0]
        #expect((condition.status, condition.reason) == ("True", "AgentRestarting"))
        #expect(await nodes.events == eventsBefore)
        #expect(await fleet.requests == ["GET daemonset"])
        let slot = slotName(FleetSlots.firstSlot(for: "node-1", slots: 3))
        #expect(await fleet.leases[slot]?.spec.holderIdentity == "node-1")
    }

    /// The same template (even with another part of the spec changed since: the generation
    /// moved, the template generation did not), or a deletion.
    @Test(arguments: [(1, 1, false), (3, 1, false), (2, 2, true)])
    func theSameTemplateOrADeletionCleansUp(generation: Int, template: Int, deleting: Bool) async {
        var (nodes, fleet, sync) = await holding(generation: generation, template: template, deleting: deleting)
        await sync.stop(view(pressure: true).conditions)
        #expect(await nodes.node.taints == [])
        let condition = await nodes.node.conditions[0]
        #expect((condition.status, condition.reason) == ("Unknown", "AgentStopped"))
        let slot = slotName(FleetSlots.firstSlot(for: "node-1", slots: 3))
        #expect(await fleet.leases[slot]?.spec.holderIdentity == "")
    }

    @Test(arguments: [KubeError.Kind.notFound, .transport, .forbidden])
    func aDaemonSetGoneOrUnreadableCleansUp(kind: KubeError.Kind) async {
        var (nodes, fleet, sync) = await holding(generation: 2)
        await fleet.failAll(KubeError(kind: kind, verb: "GET", resource: "daemonsets/autotaint", message: "m"))
        await sync.stop(view(pressure: true).conditions)
        #expect(await nodes.node.taints == [])
        #expect(await nodes.node.conditions[0].reason == "AgentStopped")
    }
}
