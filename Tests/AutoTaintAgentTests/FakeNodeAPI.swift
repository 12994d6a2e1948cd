import AutoTaintCore
import KubeClient

/// An in-memory API server for one Node with the semantics that matter here: the taint
/// list is replaced whole, a stale resourceVersion is a 409, conditions merge by type.
/// It records every request and can be told to fail the next ones.
actor FakeNodeAPI: NodeAPI {
    private(set) var node: Node
    private(set) var requests: [String] = []
    private(set) var events: [NodeEvent] = []
    private var failures: [(request: String, error: KubeError)] = []
    /// Taint PATCHes that are applied but answered with an error (a cut connection).
    private var lostAnswers: [KubeError] = []
    /// Runs before the next taint PATCH is applied: a concurrent writer.
    private var beforeNextTaintPatch: (@Sendable (inout Node) -> Void)?
    /// How long each request takes to be answered (a slow server).
    private var latency: Duration = .zero

    init(_ node: Node) { self.node = node }

    /// The next requests named `request` (e.g. "PATCH taints") fail with `errors`, in order.
    func failNext(_ request: String, _ errors: KubeError...) { failures += errors.map { (request, $0) } }
    func applyNextTaintPatchButFail(_ error: KubeError) { lostAnswers.append(error) }
    func interleave(_ write: @escaping @Sendable (inout Node) -> Void) { beforeNextTaintPatch = write }
    func edit(_ change: (inout Node) -> Void) {
        change(&node)
        bump()
    }
    func clearRequests() { requests = [] }
    func answerAfter(_ latency: Duration) { self.latency = latency }

    func getNode(_ name: String) async throws(KubeError) -> Node {
        try await exchange("GET node")
        return node
    }

    nonisolated func nodeUpdates(_ name: String) -> AsyncStream<Node> { AsyncStream { $0.finish() } }

    func patchTaints(_ name: String, _ taints: [Taint], resourceVersion: String) async throws(KubeError) -> Node {
        try await exchange("PATCH taints")
        if let write = beforeNextTaintPatch {
            beforeNextTaintPatch = nil
            write(&node)
            bump()
        }
        guard resourceVersion == node.resourceVersion else {
            throw KubeError(kind: .conflict, verb: "PATCH", resource: "nodes/\(name)", message: "the object has been modified")
        }
        node.taints = taints
        bump()
        if !lostAnswers.isEmpty { throw lostAnswers.removeFirst() }
        return node
    }

    func patchConditions(_ name: String, _ conditions: [NodeCondition]) async throws(KubeError) -> Node {
        try await exchange("PATCH status")
        for condition in conditions {
            if let index = node.conditions.firstIndex(where: { $0.type == condition.type }) {
                var merged = condition
                merged.lastTransitionTime = condition.lastTransitionTime ?? node.conditions[index].lastTransitionTime
                node.conditions[index] = merged
            } else {
                node.conditions.append(condition)
            }
        }
        bump()
        return node
    }

    func postEvent(_ event: NodeEvent, about node: Node) async throws(KubeError) {
        try await exchange("POST event")
        events.append(event)
    }

    private func exchange(_ request: String) async throws(KubeError) {
        requests.append(request)
        if latency > .zero { try? await Task.sleep(for: latency) }
        if let index = failures.firstIndex(where: { $0.request == request }) { throw failures.remove(at: index).error }
    }

    private func bump() { node.resourceVersion = String((Int(node.resourceVersion) ?? 0) + 1) }
}
