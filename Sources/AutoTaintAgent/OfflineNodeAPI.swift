import KubeClient

/// The Node of `run --dry-run` when no cluster is configured: a Node with no taints and
/// no conditions that never changes. A dry run only reads, so its write methods are
/// never reached; they fail rather than pretend.
public struct OfflineNodeAPI: NodeAPI {
    private let node: Node

    public init(nodeName: String) {
        node = Node(name: nodeName, uid: nodeName, resourceVersion: "0")
    }

    public func getNode(_ name: String) async throws(KubeError) -> Node { node }

    public func nodeUpdates(_ name: String) -> AsyncStream<Node> {
        AsyncStream { $0.finish() }
    }

    public func patchTaints(_ name: String, _ taints: [Taint], resourceVersion: String) async throws(KubeError) -> Node {
        throw offline("PATCH", "nodes/\(name)")
    }

    public func patchConditions(_ name: String, _ conditions: [NodeCondition]) async throws(KubeError) -> Node {
        throw offline("PATCH", "nodes/\(name)/status")
    }

    public func postEvent(_ event: NodeEvent, about node: Node) async throws(KubeError) {
        throw offline("POST", "events")
    }

    private func offline(_ verb: String, _ resource: String) -> KubeError {
        KubeError(kind: .badRequest, verb: verb, resource: resource, message: "no cluster is configured")
    }
}
