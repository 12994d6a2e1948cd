import Testing
@testable import AutoTaintCore

@Suite("FleetSize: N counts the nodes whose agent is up, a rolling update of the DaemonSet aside")
struct FleetSizeTests {
    /// A DaemonSet at rest: 20 nodes, all updated to generation 1.
    static func settled(ready: Int, available: Int? = nil, desired: Int = 20) -> DaemonSetCounts {
        DaemonSetCounts(desired: desired, ready: ready, available: available ?? ready, updated: desired,
                        generation: 1, observedGeneration: 1)
    }

    /// A rolling update to generation 2, `updated` of 20 replaced so far.
    static func rolling(ready: Int, updated: Int, maxUnavailable: IntOrPercent = .percent(10),
                        observed: Int = 2) -> DaemonSetCounts {
        DaemonSetCounts(desired: 20, ready: ready, available: ready, updated: updated, generation: 2,
                        observedGeneration: observed, maxUnavailable: maxUnavailable)
    }

    @Test func allReadyIsEveryNode() {
        #expect(FleetSize.live(Self.settled(ready: 20)) == FleetSize(nodes: 20, source: .ready, scheduled: 20, ready: 20))
    }

    /// A zone of 6 of 20 nodes fails: its agents are not ready, and N is the 14 left, so
    /// 30 % is 4 slots, not 6.
    @Test func aFailedZoneLowersN() {
        let size = FleetSize.live(Self.settled(ready: 14))
        #expect(size == FleetSize(nodes: 14, source: .ready, scheduled: 20, ready: 14))
        var fleet = Config.Fleet()
        fleet.maxTaintedPercent = 30
        #expect(FleetSlots.count(fleetSize: size.nodes, fleet) == 4)
        #expect(size.origin == "14 ready of 20 scheduled")
    }

    @Test(arguments: [
        // (numberReady, numberAvailable, desired) → (N, source)
        (0, 0, 20, 20, FleetSize.Source.desired),   // no status yet: every scheduled node
        (0, 12, 20, 12, .ready),                    // numberReady absent, numberAvailable there
        (15, 12, 20, 15, .ready),                   // ready first: available lags by minReadySeconds
        (25, 25, 20, 20, .ready),                   // never more than desired
        (0, 0, 0, 0, .desired),                     // an empty DaemonSet
        (-3, 0, 20, 20, .desired),                  // nonsense counts: as absent
    ])
    func readyWithItsFallbacks(_ ready: Int, _ available: Int, _ desired: Int, _ nodes: Int, _ source: FleetSize.Source) {
        let size = FleetSize.live(Self.settled(ready: ready, available: available, desired: desired))
        #expect(size.nodes == nodes)
        #expect(size.source == source)
    }

    /// Replacing 10 % at a time (2 of 20), the pods being replaced still count: no holder
    /// gives its slot up for a rollout on healthy nodes.
    @Test func aRollingUpdateKeepsN() {
        for updated in stride(from: 0, through: 18, by: 2) {
            let size = FleetSize.live(Self.rolling(ready: 18, updated: updated))
            #expect(size == FleetSize(nodes: 20, source: .rollout, scheduled: 20, ready: 18), "updated \(updated)")
        }
        #expect(FleetSize.live(Self.rolling(ready: 18, updated: 4)).origin == "18 ready + 2 being replaced of 20 scheduled")
        // The rollout done: back to ready.
        #expect(FleetSize.live(Self.rolling(ready: 20, updated: 20)).source == .ready)
    }

    /// More down than the rollout may take down: the rest are dead, not being replaced.
    @Test func aRollingUpdateCountsOnlyMaxUnavailableAsReplaced() {
        #expect(FleetSize.live(Self.rolling(ready: 12, updated: 6)).nodes == 14)
        #expect(FleetSize.live(Self.rolling(ready: 12, updated: 6, maxUnavailable: .count(3))).nodes == 15)
        // 10 % of 20 is 2; 15 % is 3 (rounded up, as the DaemonSet controller scales it).
        #expect(FleetSize.live(Self.rolling(ready: 12, updated: 6, maxUnavailable: .percent(15))).nodes == 15)
        #expect(FleetSize.live(Self.rolling(ready: 12, updated: 6, maxUnavailable: .count(0))).nodes == 12)
    }

    /// A new spec the controller has not acted on yet is a rollout too (its updated count
    /// is still the old generation's).
    @Test func aNewGenerationNotYetObservedIsARollout() {
        let counts = Self.rolling(ready: 19, updated: 20, maxUnavailable: .count(1), observed: 1)
        #expect(counts.rollingOut)
        #expect(FleetSize.live(counts).nodes == 20)
    }

    /// OnDelete: pods are replaced by hand, one at a time or all at once; nothing says how
    /// many may be down, so none count as being replaced.
    @Test func onDeleteHasNoRollout() {
        var counts = Self.rolling(ready: 18, updated: 4)
        counts.rollingUpdate = false
        #expect(!counts.rollingOut)
        #expect(FleetSize.live(counts) == FleetSize(nodes: 18, source: .ready, scheduled: 20, ready: 18))
    }

    @Test func maxUnavailableText() {
        #expect(IntOrPercent("10%") == .percent(10))
        #expect(IntOrPercent("3") == .count(3))
        #expect(IntOrPercent("ten") == nil)
        #expect(IntOrPercent("%") == nil)
    }
}
