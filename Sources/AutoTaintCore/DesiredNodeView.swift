/// What the agent wants its own parts of the Node to be after a tick: the taints of the
/// enforced signals that hold one (a report-only signal's taint is withheld), and one
/// condition per enabled signal. Foreign taints and
/// conditions are not part of it: they are never the agent's to decide.
public struct DesiredNodeView: Equatable, Sendable {
    public var ownTaints: [TaintSpec]
    public var conditions: [ConditionReport]

    public init(ownTaints: [TaintSpec], conditions: [ConditionReport]) {
        self.ownTaints = ownTaints
        self.conditions = conditions
    }

    /// The view for the enabled signals of `config`, in their fixed order.
    public init(_ config: Config, states: [SignalKind: SignalState], provenance: [SignalKind: Provenance]) {
        var taints: [TaintSpec] = []
        var conditions: [ConditionReport] = []
        for signal in config.signals.enabled {
            guard let state = states[signal] else { continue }
            let signalConfig = config.signals[signal]
            if state.tainted && signalConfig.enforce { taints.append(signalConfig.taint) }
            conditions.append(ConditionReport(
                signal, signalConfig, state, provenance: provenance[signal] ?? Provenance(),
                staleAfter: config.prometheus.staleAfter))
        }
        self.init(ownTaints: taints, conditions: conditions)
    }

    /// Whether the two views ask for the same writes, messages aside: the same own taints
    /// and, per condition, the same status, reason, enforcement and note (what
    /// `ConditionLedger.due` goes by). A message changes with the value on every tick.
    public func hasSameOutline(as other: DesiredNodeView) -> Bool {
        ownTaints == other.ownTaints && conditions.count == other.conditions.count
            && zip(conditions, other.conditions).allSatisfy { mine, theirs in
                mine.type == theirs.type && mine.status == theirs.status && mine.reason == theirs.reason
                    && mine.enforced == theirs.enforced && mine.hasNote == theirs.hasNote
                    && mine.heldBack == theirs.heldBack
            }
    }
}
