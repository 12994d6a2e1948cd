/// What the agent reads of its DaemonSet: the DaemonSet controller's status, and the spec
/// and generation that tell a rolling update (the fleet guard's N); whether it is being
/// deleted (the choice at SIGTERM, `StopPlan`).
public struct DaemonSetCounts: Equatable, Sendable {
    /// `status.desiredNumberScheduled`: nodes that should run the agent, alive or not.
    public var desired: Int
    /// `status.numberReady`: nodes whose agent pod is ready (it answers /readyz: it has
    /// reconciled with the API server).
    public var ready: Int
    /// `status.numberAvailable`: ready for `minReadySeconds`.
    public var available: Int
    /// `status.updatedNumberScheduled`: nodes running the current pod template.
    public var updated: Int
    public var generation: Int
    /// `status.observedGeneration`: the generation the controller has acted on.
    public var observedGeneration: Int
    /// `spec.updateStrategy.type` is RollingUpdate (the default), not OnDelete.
    public var rollingUpdate: Bool
    /// `spec.updateStrategy.rollingUpdate.maxUnavailable`.
    public var maxUnavailable: IntOrPercent
    /// `metadata.deletionTimestamp` is set: a foreground deletion waits for the pods to go.
    public var deleting: Bool
    /// The pod template's generation (apps/v1 keeps it in the annotation
    /// `deprecated.daemonset.template.generation`): the API server bumps it on a template
    /// change only, where `generation` moves with any spec change (an edited update
    /// strategy too); the controller labels each pod with it (`pod-template-generation`).
    public var templateGeneration: Int?

    public init(desired: Int, ready: Int = 0, available: Int = 0, updated: Int = 0, generation: Int = 0,
                observedGeneration: Int = 0, rollingUpdate: Bool = true, maxUnavailable: IntOrPercent = .count(1),
                deleting: Bool = false, templateGeneration: Int? = nil) {
        self.desired = desired
        self.ready = ready
        self.available = available
        self.updated = updated
        self.generation = generation
        self.observedGeneration = observedGeneration
        self.rollingUpdate = rollingUpdate
        self.maxUnavailable = maxUnavailable
        self.deleting = deleting
        self.templateGeneration = templateGeneration
    }

    /// A rolling update of the DaemonSet is under way: pods are being replaced, or the
    /// controller has not yet acted on a new spec.
    public var rollingOut: Bool {
        rollingUpdate && (updated < desired || observedGeneration < generation)
    }

    /// How many pods the rollout may have down at once: maxUnavailable of `desired`, a
    /// percentage rounded up, as the DaemonSet controller scales it.
    public var rolloutAllowance: Int {
        switch maxUnavailable {
        case let .count(count): max(count, 0)
        case let .percent(percent): (max(percent, 0) * max(desired, 0) + 99) / 100
        }
    }
}

/// An `IntOrString` field that holds a count or a percentage (`"10%"`).
public enum IntOrPercent: Equatable, Sendable {
    case count(Int)
    case percent(Int)

    /// `"10%"` → 10 %, `"3"` → 3; nil for anything else.
    public init?(_ text: String) {
        if text.hasSuffix("%"), let percent = Int(text.dropLast()) {
            self = .percent(percent)
        } else if let count = Int(text) {
            self = .count(count)
        } else {
            return nil
        }
    }
}

/// N, the nodes of the fleet whose agent is up, and where it came from.
public struct FleetSize: Equatable, Sendable {
    public enum Source: String, Equatable, Sendable, CaseIterable {
        /// `numberReady` (or `numberAvailable`): the nodes of a failed zone do not count.
        case ready
        /// A rolling update of the DaemonSet: its pods being replaced (at most maxUnavailable)
        /// count as up, so replacing agents on healthy nodes takes no holder's slot away.
        case rollout
        /// `desiredNumberScheduled`: the status has no ready count (a new DaemonSet, or one
        /// whose controller has not reported yet).
        case desired
        /// Read by the agent this one replaced, at its SIGTERM in a rolling update, and left
        /// in its conditions (`StopPlan`): it spreads a first attempt without a read of its
        /// own, and counts as old, so N is read again before any slot is taken.
        case handedOver
    }

    public var nodes: Int
    public var source: Source
    /// `desiredNumberScheduled`, for the message.
    public var scheduled: Int
    public var ready: Int

    public init(nodes: Int, source: Source, scheduled: Int, ready: Int) {
        self.nodes = nodes
        self.source = source
        self.scheduled = scheduled
        self.ready = ready
    }

    /// N from the DaemonSet: its ready agents; during its own rolling update, plus those
    /// being replaced, up to maxUnavailable; `desired` when nothing is ready (a status not
    /// filled in yet: counting 0 would give one slot to a whole fleet). Never more than
    /// `desired`: a node counts once.
    public static func live(_ counts: DaemonSetCounts) -> FleetSize {
        let desired = max(counts.desired, 0)
        let up = min(counts.ready > 0 ? counts.ready : max(counts.available, 0), desired)
        guard up > 0 else { return FleetSize(nodes: desired, source: .desired, scheduled: desired, ready: 0) }
        guard counts.rollingOut, up < desired else {
            return FleetSize(nodes: up, source: .ready, scheduled: desired, ready: up)
        }
        let replacing = min(counts.rolloutAllowance, desired - up)
        return FleetSize(nodes: up + replacing, source: .rollout, scheduled: desired, ready: up)
    }

    /// N as the replaced agent read it (`Source.handedOver`).
    public static func handedOver(_ nodes: Int) -> FleetSize {
        FleetSize(nodes: nodes, source: .handedOver, scheduled: nodes, ready: nodes)
    }

    /// How the condition message and the log say where N came from:
    /// `14 ready of 20 scheduled`, `18 ready + 2 being replaced of 20 scheduled`, `20 scheduled`.
    public var origin: String {
        switch source {
        case .ready: "\(ready) ready of \(scheduled) scheduled"
        case .rollout: "\(ready) ready + \(nodes - ready) being replaced of \(scheduled) scheduled"
        case .desired: "\(scheduled) scheduled"
        case .handedOver: "\(nodes) as the replaced agent read it"
        }
    }
}
