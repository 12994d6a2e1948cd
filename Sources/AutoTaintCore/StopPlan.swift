/// What a stopping agent leaves on its Node (product.md "Stop"): everything, for the pod of
/// a newer template that a rolling update starts in its place, or nothing of its own.
public enum StopPlan: Equatable, Sendable {
    /// The DaemonSet is replacing this pod: taints, slot and conditions stay for the
    /// successor, which adopts them on its first tick. The text says how that was told;
    /// `fleetSize` is N as read then, handed over in the conditions' message.
    case handOver(String, fleetSize: Int)
    /// Uninstall, the node left the DaemonSet, or no way to tell: `shutdown.removeTaints`
    /// applies and the conditions become Unknown. The text says why.
    case cleanUp(String)

    /// What the agent learnt of its DaemonSet at SIGTERM.
    public enum DaemonSetLookup: Equatable, Sendable {
        /// `templateGeneration`: of its pod template, what pods are labelled with.
        case found(templateGeneration: Int, deleting: Bool, fleetSize: Int)
        /// 404: deleted in the background (`kubectl delete`'s default), its pods then go.
        case gone
        case unreadable(String)
    }

    /// Hand over only when all of it says so: the DaemonSet is there and not being deleted,
    /// and its pod template is newer than the one this pod was made from (its
    /// `pod-template-generation` label). A pod deleted while the template stays (even if
    /// another part of the spec changed) is leaving for good (the node no longer matches
    /// the DaemonSet's node selector or affinity, or someone deleted the pod): no successor
    /// adopts what it leaves.
    public static func decide(_ daemonSet: DaemonSetLookup, podTemplateGeneration: Int?) -> StopPlan {
        switch daemonSet {
        case .gone:
            return .cleanUp("the DaemonSet is gone")
        case let .unreadable(error):
            return .cleanUp("cannot read the DaemonSet (\(error)), so cannot tell a rolling update")
        case .found(_, deleting: true, _):
            return .cleanUp("the DaemonSet is being deleted")
        case let .found(template, deleting: false, fleetSize):
            guard let pod = podTemplateGeneration else {
                return .cleanUp("this pod's template generation is unknown ($POD_TEMPLATE_GENERATION)")
            }
            guard template > pod else {
                return .cleanUp("this pod is of the DaemonSet's template generation \(template): the pod is going, not being replaced")
            }
            return .handOver("the DaemonSet's template is at generation \(template), this pod's at \(pod): a rolling update replaces it",
                             fleetSize: fleetSize)
        }
    }

    public var handsOver: Bool {
        if case .handOver = self { true } else { false }
    }

    /// The conditions as the agent leaves them. Handed over, each keeps its status (what the
    /// node still is) with reason `AgentRestarting` and its last message marked as such, so
    /// no reader takes it for a fresh observation, and N for the successor's fleet guard
    /// (`handedOverFleetSize`); cleaned up, each is Unknown/AgentStopped.
    public func conditions(_ reports: [ConditionReport]) -> [ConditionReport] {
        reports.map { report in
            var left = report
            if case let .handOver(_, fleetSize) = self {
                left.reason = Self.handOverReason
                left.message = "\(Self.handOverLead)\(fleetSize)); its successor takes this condition over. "
                    + "Last observed: \(report.message)"
            } else {
                left.status = .unknown
                left.reason = "AgentStopped"
                left.message = "autotaint stopped on this node; this condition is no longer updated"
            }
            return left
        }
    }

    static let handOverReason = "AgentRestarting"
    static let handOverLead = "autotaint is being replaced by a rolling update (fleet size "

    /// N as the replaced agent read it, from a condition it handed over; nil for any other.
    /// Saves the successor a read of the DaemonSet on entering pressure, which at 5,000
    /// nodes entering together would be 5,000 reads in a second.
    public static func handedOverFleetSize(reason: String, message: String) -> Int? {
        guard reason == handOverReason, message.hasPrefix(handOverLead) else { return nil }
        let digits = message.dropFirst(handOverLead.count).prefix { $0.isNumber }
        return Int(digits).flatMap { $0 > 0 ? $0 : nil }
    }

    /// The own taints to leave on the Node: nil leaves them as they are.
    public func wantedTaints(removeTaints: Bool) -> [TaintSpec]? {
        !handsOver && removeTaints ? [] : nil
    }
}
