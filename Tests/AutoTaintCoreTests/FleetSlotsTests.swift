import Testing
@testable import AutoTaintCore

@Suite("Fleet guard arithmetic: K from N, retry cap, slot names")
struct FleetSlotsTests {
    static func fleet(_ percent: Double, cap: Double = 0) -> Config.Fleet {
        var fleet = Config.Fleet()
        fleet.maxTaintedPercent = percent
        fleet.maxTainted = cap
        return fleet
    }

    @Test(arguments: [
        // (N, percent, maxTainted, K)
        (0, 30.0, 0.0, 1), (1, 30, 0, 1), (3, 30, 0, 1), (4, 30, 0, 1), (7, 30, 0, 2), (10, 30, 0, 3),
        (20, 30, 0, 6), (5_000, 30, 0, 1_500), (10, 100, 0, 10), (10, 1, 0, 1), (3, 33.3, 0, 1),
        (1_000, 30, 50, 50), (10, 30, 5, 3), (10, 30, 3, 3), (10, 30, 1, 1), (7, 14.29, 0, 1),
    ])
    func slotCount(fleetSize: Int, percent: Double, cap: Double, expected: Int) {
        #expect(FleetSlots.count(fleetSize: fleetSize, Self.fleet(percent, cap: cap)) == expected)
    }

    @Test func guardOffHasNoCount() {
        #expect(FleetSlots.count(fleetSize: 100, Self.fleet(0)) == nil)
        #expect(FleetSlots.count(fleetSize: 100, Self.fleet(0, cap: 5)) == nil)
    }

    @Test(arguments: [(0, 5), (16, 5), (20, 6), (100, 30), (1_000, 300), (5_000, 1_500), (6_000, 1_800), (100_000, 1_800)])
    func retryCapGrowsWithTheFleet(fleetSize: Int, seconds: Int) {
        #expect(FleetSlots.retryCap(fleetSize: fleetSize) == .seconds(seconds))
    }

    @Test func firstSlotIsStableAndInRange() {
        for slots in [1, 2, 6, 1_500] {
            for node in ["node-1", "node-2", "ip-10-0-0-1.ec2.internal", ""] {
                let first = FleetSlots.firstSlot(for: node, slots: slots)
                #expect((0..<slots).contains(first))
                #expect(first == FleetSlots.firstSlot(for: node, slots: slots))
            }
        }
        // Twenty nodes spread over six slots, not all on one.
        let used = Set((0..<20).map { FleetSlots.firstSlot(for: "node-\($0)", slots: 6) })
        #expect(used.count >= 4)
    }

    @Test func leaseNamesRoundTrip() {
        #expect(FleetSlots.leaseName(0, fleet: "autotaint") == "autotaint-slot-0")
        #expect(FleetSlots.leaseName(12, fleet: "autotaint-gpu") == "autotaint-gpu-slot-12")
        #expect(FleetSlots.index(ofLease: "autotaint-slot-17", fleet: "autotaint") == 17)
        #expect(FleetSlots.index(ofLease: "autotaint-gpu-slot-3", fleet: "autotaint-gpu") == 3)
        for other in ["autotaint-slot-", "autotaint-slot-01", "autotaint-slot-x", "autotaint-slot--1", "kube-node-1", "autotaint-slot-١"] {
            #expect(FleetSlots.index(ofLease: other, fleet: "autotaint") == nil, "\(other)")
        }
    }

    /// Two DaemonSets in one namespace never read each other's slots, whatever their names.
    @Test func eachFleetReadsOnlyItsOwnSlots() {
        #expect(FleetSlots.index(ofLease: "autotaint-gpu-slot-3", fleet: "autotaint") == nil)
        #expect(FleetSlots.index(ofLease: "autotaint-slot-3", fleet: "autotaint-gpu") == nil)
        // A fleet whose name ends like another's slots.
        #expect(FleetSlots.index(ofLease: "a-slot-1-slot-0", fleet: "a") == nil)
        #expect(FleetSlots.index(ofLease: "a-slot-1-slot-0", fleet: "a-slot-1") == 0)
    }

    /// A slot from before the fleet label belongs to the default DaemonSet's fleet, so an
    /// upgrade keeps it; a labelled one to the fleet its label names.
    @Test func fleetOfASlotFromItsLabel() {
        #expect(FleetSlots.fleet(ofLeaseLabels: ["autotaint.dev/role": "fleet-slot"]) == "autotaint")
        #expect(FleetSlots.fleet(ofLeaseLabels: [FleetSlots.fleetLabel: "autotaint-gpu"]) == "autotaint-gpu")
    }

    /// The onset window grows with N so nodes entering pressure together start about 20
    /// attempts a second at any N: 1 s at 20 nodes, 250 s at 5,000, capped at 30 min.
    @Test func onsetWindowGrowsWithTheFleet() {
        #expect(FleetSlots.onsetWindow(fleetSize: 0) == .zero)
        #expect(FleetSlots.onsetWindow(fleetSize: 20) == .seconds(1))
        #expect(FleetSlots.onsetWindow(fleetSize: 200) == .seconds(10))
        #expect(FleetSlots.onsetWindow(fleetSize: 5000) == .seconds(250))
        #expect(FleetSlots.onsetWindow(fleetSize: 1_000_000) == .seconds(1800))
        for nodes in [20, 200, 5000] {
            let perSecond = Double(nodes) / (Double(FleetSlots.onsetWindow(fleetSize: nodes).components.seconds))
            #expect(perSecond == 20)
        }
    }
}

@Suite("Fleet limit on a view: hard taints held back, conditions say why")
struct FleetLimitTests {
    static func pressureView(_ config: Config) -> DesiredNodeView {
        DesiredNodeView(
            ownTaints: [config.signals.cpu.taint],
            conditions: [ConditionReport(type: "CPUPressure", status: .true, reason: "CPUUsageHigh",
                                         message: "CPU 93.4% >= 80% for 30s (proc)")])
    }

    @Test func preferNoScheduleInstead() {
        let config = Config()
        let why = FleetLimit.shortageText(.limitReached, fleetSize: FleetSize(nodes: 10, source: .ready, scheduled: 10, ready: 10), slots: 3, config.fleet)
        let limited = FleetLimit.withheld(Self.pressureView(config), why: why, config)
        #expect(limited.ownTaints == [TaintSpec(key: "autotaint.dev/cpu-pressure", value: "true", effect: .preferNoSchedule)])
        #expect(limited.conditions[0].message
            == "CPU 93.4% >= 80% for 30s (proc); fleet limit: 3 of 10 nodes (30%) hold a slot (N: 10 ready of 10 scheduled); PreferNoSchedule instead")
        #expect(limited.conditions[0].heldBack)
        #expect(limited.conditions[0].status == .true)
    }

    @Test func noTaintInstead() {
        var config = Config()
        config.fleet.overflowEffect = .none
        let limited = FleetLimit.withheld(Self.pressureView(config), why: "fleet guard: no slot yet", config)
        #expect(limited.ownTaints.isEmpty)
        #expect(limited.conditions[0].message.hasSuffix("; fleet guard: no slot yet; no taint instead"))
    }

    @Test func softTaintsAndOtherConditionsUntouched() {
        var config = Config()
        config.signals.memory.enabled = true
        config.signals.memory.taint.effect = .preferNoSchedule
        let memory = ConditionReport(type: "MemoryUsagePressure", status: .true, reason: "MemoryUsageHigh", message: "Memory 95%")
        var view = Self.pressureView(config)
        view.ownTaints.append(config.signals.memory.taint)
        view.conditions.append(memory)
        #expect(FleetLimit.wantsSlot(view))
        let limited = FleetLimit.withheld(view, why: "w", config)
        #expect(limited.ownTaints.map(\.effect) == [.preferNoSchedule, .preferNoSchedule])
        #expect(limited.conditions[1] == memory)
        #expect(!FleetLimit.wantsSlot(limited))
    }

    @Test func twoSignalsOnOneKeyAreNotDoubled() {
        var config = Config()
        config.signals.memory.enabled = true
        config.signals.memory.taint = TaintSpec(key: "autotaint.dev/cpu-pressure", value: "true", effect: .preferNoSchedule)
        var view = Self.pressureView(config)
        view.ownTaints.append(config.signals.memory.taint)
        #expect(FleetLimit.withheld(view, why: "w", config).ownTaints.count == 1)
    }

    @Test func shortageTexts() {
        var fleet = Config.Fleet()
        #expect(FleetLimit.shortageText(nil, fleetSize: nil, slots: nil, fleet) == "fleet guard: no slot yet")
        fleet.maxTainted = 2
        let rollout = FleetSize(nodes: 10, source: .rollout, scheduled: 10, ready: 9)
        #expect(FleetLimit.shortageText(.limitReached, fleetSize: rollout, slots: 2, fleet)
            == "fleet limit: 2 of 10 nodes (maxTainted 2) hold a slot (N: 9 ready + 1 being replaced of 10 scheduled)")
        let failedZone = FleetSize(nodes: 14, source: .ready, scheduled: 20, ready: 14)
        fleet.maxTainted = 0
        #expect(FleetLimit.shortageText(.limitReached, fleetSize: failedZone, slots: 4, fleet)
            == "fleet limit: 4 of 14 nodes (30%) hold a slot (N: 14 ready of 20 scheduled)")
        let forbidden = FleetFailure(.forbidden, "GET leases/autotaint-slot-0: forbidden")
        #expect(FleetLimit.shortageText(.failed(forbidden), fleetSize: nil, slots: 3, fleet)
            == "fleet guard: no slot: leases or the DaemonSet forbidden (apply the current rbac.yaml): GET leases/autotaint-slot-0: forbidden")
    }

    @Test func effectHardness() {
        #expect(TaintEffect.noSchedule.isHard && TaintEffect.noExecute.isHard && !TaintEffect.preferNoSchedule.isHard)
    }
}

@Suite("FleetSlots.offeredSlot: what a LIST of free slots offers")
struct OfferedSlotTests {
    private static func free(_ index: Int, holder: String = "") -> (index: Int, record: SlotRecord) {
        (index, SlotRecord(holder: holder, resourceVersion: "\(index)"))
    }

    @Test func onlyFreeRecordsBelowKAreTaken() {
        // The label says free, the record says held, or the slot is at or beyond K: none.
        #expect(FleetSlots.offeredSlot([Self.free(1, holder: "node-b"), Self.free(3), Self.free(7)],
                                       identity: "node-a", slots: 3) == nil)
        #expect(FleetSlots.offeredSlot([], identity: "node-a", slots: 3) == nil)
        let only = FleetSlots.offeredSlot([Self.free(1, holder: "node-b"), Self.free(2), Self.free(5)],
                                          identity: "node-a", slots: 3)
        #expect(only?.index == 2 && only?.record.resourceVersion == "2")
    }

    @Test func nodesReadingTheSamePageSpreadOverIt() {
        let page = [Self.free(0), Self.free(1), Self.free(2)]
        let chosen = Set((0..<30).compactMap { FleetSlots.offeredSlot(page, identity: "node-\($0)", slots: 10)?.index })
        #expect(chosen == [0, 1, 2])
        // and one node always chooses the same
        #expect(FleetSlots.offeredSlot(page, identity: "node-7", slots: 10)?.index
            == FleetSlots.offeredSlot(page, identity: "node-7", slots: 10)?.index)
    }
}
