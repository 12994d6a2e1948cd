import AutoTaintCore
import KubeClient

/// The Node of `run --dry-run` when no cluster is configured: a Node with no taints and
/// no conditions that never changes. A dry run only reads, so its write methods are
/// never reached; they fail rather than pretend. As the fleet guard's API it is a fleet of
/// this one node with no slot taken yet.
public struct OfflineNodeAPI: NodeAPI, FleetAPI {
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

    public func daemonSetCounts(namespace: String, daemonSet: String) async throws(KubeError) -> DaemonSetCounts {
        DaemonSetCounts(desired: 1, ready: 1)
    }

    public func lease(namespace: String, name: String) async throws(KubeError) -> Lease? { nil }

    public func leases(namespace: String, labelSelector: String, limit: Int?) async throws(KubeError) -> [Lease] { [] }

    public func createLease(namespace: String, _ lease: Lease) async throws(KubeError) -> Lease {
        throw offline("POST", "leases/\(lease.name)")
    }

    public func updateLease(namespace: String, name: String, resourceVersion: String, labels: [String: String],
                            _ spec: LeaseSpec) async throws(KubeError) -> Lease
    {
        throw offline("PATCH", "leases/\(name)")
    }

    private func offline(_ verb: String, _ resource: String) -> KubeError {
        KubeError(kind: .badRequest, verb: verb, resource: resource, message: "no cluster is configured")
    }
}
