import AgentExecutor
import AutoTaintCore
import KubeClient

/// What one reconcile changed of the agent's own taints.
struct TaintChanges: Equatable {
    var added: [TaintSpec] = []
    /// Taints put back after someone else removed them while their signal was in pressure.
    var restored: [TaintSpec] = []
    var removed: [Taint] = []

    var isEmpty: Bool { added.isEmpty && restored.isEmpty && removed.isEmpty }
}

/// Keeps the Node's own taints equal to the wanted ones and every other taint as it is.
///
/// `spec.taints` is an atomic list, so each write sends the whole list with the
/// resourceVersion it was built from; a 409 means someone else wrote in between, so it
/// re-reads and rebuilds, a bounded number of times (kubernetes-api.md).
struct TaintReconciler {
    let api: any NodeAPI
    let nodeName: String
    let dryRun: Bool
    /// Attempts per reconcile when writes conflict.
    var maxAttempts = 5
    /// Hears each write answered 409 Conflict.
    var onConflict: (@Sendable () -> Void)?
    /// Own taints the Node was last seen to carry after a reconcile: one of these found
    /// missing was removed by someone else, and putting it back is a restore.
    private(set) var confirmed: [TaintSpec]
    /// A write whose outcome is unknown (no answer, a 5xx): if the next reconcile finds
    /// the Node already as it wanted, that write was applied and its changes are reported
    /// then, so no taint appears without its Event.
    private var unanswered: (wanted: [TaintSpec], changes: TaintChanges)?

    /// No write of unknown outcome waits to be found applied.
    var isSettled: Bool { unanswered == nil }

    init(api: any NodeAPI, nodeName: String, dryRun: Bool, confirmed: [TaintSpec]) {
        self.api = api
        self.nodeName = nodeName
        self.dryRun = dryRun
        self.confirmed = confirmed
    }

    /// Brings `node` to the wanted own taints; returns the Node as written (or, in a dry
    /// run, as it would be) and what changed.
    mutating func reconcile(
        _ node: Node, wanted: [TaintSpec], ownKeys: Set<String>
    ) async throws(KubeError) -> (node: Node, changes: TaintChanges) {
        var current = node
        for attempt in 1...maxAttempts {
            let plan = TaintSet.plan(current: current.taints, ownKeys: ownKeys, wanted: wanted, make: Taint.init)
            guard plan.changesSomething else {
                let applied = unanswered.flatMap { $0.wanted == wanted ? $0.changes : nil } ?? TaintChanges()
                unanswered = nil
                confirmed = wanted
                return (current, applied)
            }
            let changes = TaintChanges(
                added: plan.added.filter { !confirmed.contains($0) },
                restored: plan.added.filter { confirmed.contains($0) },
                removed: plan.removed)
            if dryRun {
                current.taints = plan.taints
                confirmed = wanted
                return (current, changes)
            }
            do {
                current = try await api.patchTaints(nodeName, plan.taints, resourceVersion: current.resourceVersion)
                unanswered = nil
                confirmed = wanted
                return (current, changes)
            } catch where error.kind.mayHaveBeenApplied {
                unanswered = (wanted, changes)
                throw error
            } catch where error.kind == .conflict {
                onConflict?()
                guard attempt < maxAttempts else { break }
                // Spread competing writers apart before re-reading.
                try? await ExecutorClock().sleep(for: .milliseconds(Int.random(in: 20...100) * attempt))
                current = try await api.getNode(nodeName)
            }
        }
        throw KubeError(kind: .conflict, verb: "PATCH", resource: "nodes/\(nodeName)",
                        message: "still conflicting after \(maxAttempts) attempts")
    }
}
