import AutoTaintCore
import CoreMetrics
import CurlHTTP
import FoundationEssentials

/// `NodeAPI` against a real API server over HTTPS (libcurl): one reused connection for
/// requests, a second one for the Node watch.
///
/// Every call is one request, plus one retry when the server answered 401 and the token
/// file has meanwhile changed. Failures are `KubeError`s; nothing is retried otherwise. A
/// call whose task is cancelled is aborted at once and throws `.transport` with the
/// message `cancelled` (the protocol's typed throws leave no other way to say it).
///
/// `nodeUpdates` keeps only the newest Node its consumer has not read yet. `log` receives
/// what the watch has to say about its failures and reconnections, and token file read
/// errors (never a token); pass the agent's logger at warning level.
public final class KubeAPI: NodeAPI, FleetAPI {
    let connection: APIConnection
    let settings: KubeAPISettings
    let log: @Sendable (String) -> Void
    let watchExecutor: (any TaskExecutor)?

    /// `version` goes into `User-Agent: autotaint/<version>`. Every request is counted
    /// on `metrics` (`autotaint_api_requests_total{verb,code}`). `watchExecutor`: where the
    /// watch's own task prefers to run (the agent's `SingleThreadExecutor`); nil, the global
    /// executor. Throws only when libcurl cannot make its handles.
    public init(
        credentials: KubeCredentials,
        version: String,
        settings: KubeAPISettings = KubeAPISettings(),
        metrics: any MetricsFactory = MetricsSystem.factory,
        watchExecutor: (any TaskExecutor)? = nil,
        log: @escaping @Sendable (String) -> Void
    ) throws(CurlError) {
        connection = try APIConnection(
            credentials: credentials, userAgent: "autotaint/\(version)", settings: settings, metrics: metrics, log: log
        )
        self.settings = settings
        self.watchExecutor = watchExecutor
        self.log = log
    }

    public func getNode(_ name: String) async throws(KubeError) -> Node {
        try await connection.fetch(Node.self, APIRequest(
            verb: "GET", path: "/api/v1/nodes/\(name.percentEncoded)", resource: "nodes/\(name)"
        ))
    }

    /// The Node through a LIST by name, as client-go's reflector starts a watch: the
    /// list's resourceVersion is the server's current one, where the Node's own may be older
    /// than the watch history reaches (and a watch from it would be 410 again). A
    /// `metadata.name` field selector is one key for the API server, not a scan of the Nodes.
    func listNode(_ name: String) async throws(KubeError) -> (node: Node, resourceVersion: String) {
        let list = try await connection.fetch(NodeList.self, APIRequest(
            verb: "LIST", path: "/api/v1/nodes?fieldSelector=metadata.name%3D\(name.percentEncoded)", resource: "nodes/\(name)"
        ))
        guard let node = list.items.first(where: { $0.name == name }) else {
            throw KubeError(kind: .notFound, verb: "LIST", resource: "nodes/\(name)", message: "nodes \"\(name)\" not found")
        }
        return (node, list.metadata.resourceVersion ?? node.resourceVersion)
    }

    public func patchTaints(_ name: String, _ taints: [Taint], resourceVersion: String) async throws(KubeError) -> Node {
        try await connection.fetch(Node.self, APIRequest(
            verb: "PATCH", path: "/api/v1/nodes/\(name.percentEncoded)", resource: "nodes/\(name)",
            json: TaintsPatch(taints: taints, resourceVersion: resourceVersion),
            contentType: APIRequest.strategicMergePatch
        ))
    }

    public func patchConditions(_ name: String, _ conditions: [NodeCondition]) async throws(KubeError) -> Node {
        try await connection.fetch(Node.self, APIRequest(
            verb: "PATCH", path: "/api/v1/nodes/\(name.percentEncoded)/status", resource: "nodes/\(name)/status",
            json: ConditionsPatch(conditions: conditions), contentType: APIRequest.strategicMergePatch
        ))
    }

    public func postEvent(_ event: NodeEvent, about node: Node) async throws(KubeError) {
        _ = try await connection.send(APIRequest(
            verb: "POST", path: "/api/v1/namespaces/default/events", resource: "events",
            json: EventBody(event, about: node), contentType: "application/json"
        ))
    }

    public func nodeUpdates(_ name: String) -> AsyncStream<Node> {
        NodeWatcher(api: self, name: name).updates()
    }

    public func daemonSetCounts(namespace: String, daemonSet: String) async throws(KubeError) -> DaemonSetCounts {
        let path = "/apis/apps/v1/namespaces/\(namespace.percentEncoded)/daemonsets/\(daemonSet.percentEncoded)"
        let object = try await connection.fetch(DaemonSetFleetFields.self, APIRequest(
            verb: "GET", path: path, resource: "daemonsets/\(daemonSet)"))
        guard let counts = object.counts else {
            throw KubeError(kind: .undecodable, verb: "GET", resource: "daemonsets/\(daemonSet)",
                            message: "spec.updateStrategy.rollingUpdate.maxUnavailable is neither a count nor a percentage")
        }
        return counts
    }

    public func lease(namespace: String, name: String) async throws(KubeError) -> Lease? {
        do {
            return try await connection.fetch(Lease.self, APIRequest(
                verb: "GET", path: Self.leasesPath(namespace) + "/\(name.percentEncoded)", resource: "leases/\(name)"))
        } catch where error.kind == .notFound {
            return nil
        }
    }

    public func leases(namespace: String, labelSelector: String, limit: Int?) async throws(KubeError) -> [Lease] {
        let page = limit.map { "&limit=\($0)" } ?? ""
        return try await connection.fetch(LeaseList.self, APIRequest(
            verb: "LIST", path: Self.leasesPath(namespace) + "?labelSelector=\(labelSelector.percentEncoded)" + page,
            resource: "leases")).items
    }

    public func createLease(namespace: String, _ lease: Lease) async throws(KubeError) -> Lease {
        try await connection.fetch(Lease.self, APIRequest(
            verb: "POST", path: Self.leasesPath(namespace), resource: "leases/\(lease.name)",
            json: lease, contentType: "application/json"))
    }

    public func updateLease(namespace: String, name: String, resourceVersion: String, labels: [String: String],
                            _ spec: LeaseSpec) async throws(KubeError) -> Lease
    {
        try await connection.fetch(Lease.self, APIRequest(
            verb: "PATCH", path: Self.leasesPath(namespace) + "/\(name.percentEncoded)", resource: "leases/\(name)",
            json: LeasePatch(resourceVersion: resourceVersion, labels: labels, spec: spec),
            contentType: "application/merge-patch+json"))
    }

    private static func leasesPath(_ namespace: String) -> String {
        "/apis/coordination.k8s.io/v1/namespaces/\(namespace.percentEncoded)/leases"
    }
}
