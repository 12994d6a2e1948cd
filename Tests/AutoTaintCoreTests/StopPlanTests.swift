import Testing
@testable import AutoTaintCore

@Suite("StopPlan: at SIGTERM, hand over only to the pod a rolling update starts in this one's place")
struct StopPlanTests {
    typealias Lookup = StopPlan.DaemonSetLookup

    static let lookups: [Lookup] = [
        .gone, .unreadable("connection refused"),
        .found(templateGeneration: 1, deleting: false, fleetSize: 20), .found(templateGeneration: 2, deleting: false, fleetSize: 20),
        .found(templateGeneration: 3, deleting: false, fleetSize: 20), .found(templateGeneration: 2, deleting: true, fleetSize: 20),
        .found(templateGeneration: 3, deleting: true, fleetSize: 20),
    ]
    static let podGenerations: [Int?] = [nil, 1, 2, 3]

    /// Every pairing: a hand-over needs the DaemonSet present, not being deleted, and newer
    /// than the pod; every other case cleans up.
    @Test(arguments: lookups, podGenerations)
    func handsOverOnlyToANewerTemplate(_ lookup: Lookup, _ pod: Int?) {
        let plan = StopPlan.decide(lookup, podTemplateGeneration: pod)
        let newer: Bool = if case let .found(generation, false, _) = lookup, let pod { generation > pod } else { false }
        #expect(plan.handsOver == newer)
    }

    @Test func theTextSaysWhy() {
        #expect(StopPlan.decide(.found(templateGeneration: 3, deleting: false, fleetSize: 20), podTemplateGeneration: 2)
            == .handOver("the DaemonSet's template is at generation 3, this pod's at 2: a rolling update replaces it",
                         fleetSize: 20))
        #expect(StopPlan.decide(.gone, podTemplateGeneration: 2) == .cleanUp("the DaemonSet is gone"))
        #expect(StopPlan.decide(.found(templateGeneration: 3, deleting: true, fleetSize: 20), podTemplateGeneration: 2)
            == .cleanUp("the DaemonSet is being deleted"))
        // The node left the DaemonSet's node selector: its pod is deleted, the generation stays.
        #expect(StopPlan.decide(.found(templateGeneration: 2, deleting: false, fleetSize: 20), podTemplateGeneration: 2)
            == .cleanUp("this pod is of the DaemonSet's template generation 2: the pod is going, not being replaced"))
        #expect(StopPlan.decide(.found(templateGeneration: 2, deleting: false, fleetSize: 20), podTemplateGeneration: nil)
            == .cleanUp("this pod's template generation is unknown ($POD_TEMPLATE_GENERATION)"))
        #expect(StopPlan.decide(.unreadable("timed out"), podTemplateGeneration: 1)
            == .cleanUp("cannot read the DaemonSet (timed out), so cannot tell a rolling update"))
    }

    static let pressure = ConditionReport(type: "CPUPressure", status: .true, reason: "CPUUsageHigh",
                                          message: "CPU 93.4% >= 80% for 30s (proc)")

    @Test func handedOverConditionsKeepTheirStatusAndSayTheyAreNotFresh() {
        let left = StopPlan.handOver("x", fleetSize: 5_000).conditions([Self.pressure])
        #expect(left.map(\.status) == [.true])
        #expect(left.map(\.reason) == ["AgentRestarting"])
        #expect(left[0].message == "autotaint is being replaced by a rolling update (fleet size 5000); its successor "
            + "takes this condition over. Last observed: CPU 93.4% >= 80% for 30s (proc)")
        #expect(StopPlan.handOver("x", fleetSize: 5_000).wantedTaints(removeTaints: true) == nil)
    }

    /// The successor reads N back from what it finds; nothing else passes for it.
    @Test func theSuccessorReadsTheFleetSizeBackFromAHandedOverConditionOnly() {
        let left = StopPlan.handOver("x", fleetSize: 5_000).conditions([Self.pressure])[0]
        #expect(StopPlan.handedOverFleetSize(reason: left.reason, message: left.message) == 5_000)
        #expect(StopPlan.handedOverFleetSize(reason: "CPUUsageHigh", message: left.message) == nil)
        let stopped = StopPlan.cleanUp("x").conditions([Self.pressure])[0]
        #expect(StopPlan.handedOverFleetSize(reason: stopped.reason, message: stopped.message) == nil)
        for garbled in ["autotaint is being replaced by a rolling update (fleet size ); x",
                        "autotaint is being replaced by a rolling update (fleet size 0); x",
                        "autotaint is being replaced by a rolling update (fleet size 99999999999999999999999); x"] {
            #expect(StopPlan.handedOverFleetSize(reason: "AgentRestarting", message: garbled) == nil)
        }
    }

    @Test func cleanedUpConditionsAreUnknownAndTaintsFollowRemoveTaints() {
        let left = StopPlan.cleanUp("x").conditions([Self.pressure])
        #expect(left.map(\.status) == [.unknown])
        #expect(left.map(\.reason) == ["AgentStopped"])
        #expect(StopPlan.cleanUp("x").wantedTaints(removeTaints: true) == [])
        #expect(StopPlan.cleanUp("x").wantedTaints(removeTaints: false) == nil)
    }
}
