import AutoTaintCore

/// What the fleet guard does with the API server: read its DaemonSet's size, and read and
/// write slot Leases in the agent's namespace. Each call is one request (plus one retry
/// after a 401 with a re-read token), as in `NodeAPI`.
public protocol FleetAPI: Sendable {
    /// The DaemonSet's counts that make N (`FleetSize.live`).
    func daemonSetCounts(namespace: String, daemonSet: String) async throws(KubeError) -> DaemonSetCounts

    /// The Lease, nil when there is none (404).
    func lease(namespace: String, name: String) async throws(KubeError) -> Lease?

    /// The Leases matching `labelSelector` (e.g. `autotaint.dev/role=fleet-slot,autotaint.dev/fleet=autotaint`), at most
    /// `limit` of them when it is set (the first page, in the server's name order).
    func leases(namespace: String, labelSelector: String, limit: Int?) async throws(KubeError) -> [Lease]

    /// Creates `lease`; 409 (AlreadyExists) when the name is taken.
    func createLease(namespace: String, _ lease: Lease) async throws(KubeError) -> Lease

    /// Merges `labels` and `spec` into the Lease if it is still at `resourceVersion`; 409
    /// otherwise.
    func updateLease(namespace: String, name: String, resourceVersion: String, labels: [String: String],
                     _ spec: LeaseSpec) async throws(KubeError) -> Lease
}
