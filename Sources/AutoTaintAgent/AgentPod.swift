import AutoTaintCore
import KubeClient

/// The agent's pod as the API server knows it: the namespace its DaemonSet and slot Leases
/// are in, and the DaemonSet template generation it was made from (its
/// `pod-template-generation` label, through the downward API), which tells at SIGTERM
/// whether a rolling update is replacing it.
public struct AgentPod: Sendable {
    public let api: any FleetAPI
    public let namespace: String
    public let templateGeneration: Int?

    public init(api: any FleetAPI, namespace: String, templateGeneration: Int?) {
        self.api = api
        self.namespace = namespace
        self.templateGeneration = templateGeneration
    }

    /// Reads `daemonSet` once to choose what the agent leaves behind. No answer within
    /// `limit` cleans up, with time left in the pod's grace period for the writes.
    func stopPlan(daemonSet: String, within limit: Duration) async -> StopPlan {
        let lookup = await withDeadline(limit) { [api, namespace] () -> StopPlan.DaemonSetLookup in
            do throws(KubeError) {
                let counts = try await api.daemonSetCounts(namespace: namespace, daemonSet: daemonSet)
                // Without the annotation (not a kube-apiserver's DaemonSet), its generation.
                return .found(templateGeneration: counts.templateGeneration ?? counts.generation,
                              deleting: counts.deleting, fleetSize: FleetSize.live(counts).nodes)
            } catch where error.kind == .notFound {
                return .gone
            } catch {
                return .unreadable("\(error)")
            }
        }
        return StopPlan.decide(lookup ?? .unreadable("no answer within \(limit)"), podTemplateGeneration: templateGeneration)
    }
}
