/// What the fleet guard lets a node's view carry: with a slot (or the guard off) the view
/// as the signals made it; without one, every hard own taint (NoSchedule, NoExecute)
/// written with `fleet.overflowEffect` instead, or left out, and the conditions of those
/// signals saying why.
public enum FleetLimit {
    /// Whether `view` asks for a hard own taint, and so for a slot.
    public static func wantsSlot(_ view: DesiredNodeView) -> Bool {
        view.ownTaints.contains { $0.effect.isHard }
    }

    /// `view` without its hard taints; `why` says what the guard saw, e.g. `fleet limit: 3 of
    /// 10 nodes (30%) hold a slot`.
    public static func withheld(_ view: DesiredNodeView, why: String, _ config: Config) -> DesiredNodeView {
        var limited = view
        let instead: String
        switch config.fleet.overflowEffect {
        case .preferNoSchedule:
            instead = "PreferNoSchedule instead"
            var softened: [TaintSpec] = []
            for var spec in view.ownTaints {
                spec.effect = spec.effect.isHard ? .preferNoSchedule : spec.effect
                // Another signal may have the same key with PreferNoSchedule already.
                if !softened.contains(spec) { softened.append(spec) }
            }
            limited.ownTaints = softened
        case .none:
            instead = "no taint instead"
            limited.ownTaints = view.ownTaints.filter { !$0.effect.isHard }
        }
        let hardConditions = Set(config.signals.enabled.filter { signal in
            view.ownTaints.contains { $0.effect.isHard && $0 == config.signals[signal].taint }
        }.map { config.signals[$0].condition })
        for index in limited.conditions.indices where hardConditions.contains(limited.conditions[index].type) {
            limited.conditions[index].message += "; \(why); \(instead)"
            limited.conditions[index].heldBack = true
        }
        return limited
    }

    /// Why a node that wants a slot has none, as its conditions say it; N says where it came
    /// from: `fleet limit: 4 of 14 nodes (30%) hold a slot (N: 14 ready of 20 scheduled)`.
    /// `beforeFirstAttempt`: its first attempt is still to come, spread over the onset window
    /// (a text that stays the same while it waits).
    public static func shortageText(_ shortage: SlotPolicy.Shortage?, fleetSize: FleetSize?, slots: Int?,
                                    _ fleet: Config.Fleet, beforeFirstAttempt: Bool = false) -> String
    {
        if beforeFirstAttempt, shortage == nil, let fleetSize {
            let window = FleetSlots.onsetWindow(fleetSize: fleetSize.nodes).roundedToMilliseconds.kubernetesText
            return "fleet guard: no slot yet: first attempt spread over \(window) (N × 50ms, N: \(fleetSize.origin))"
        }
        switch shortage {
        case let .failed(failure):
            return "fleet guard: no slot: \(failure.summary)"
        case .limitReached, nil:
            guard let fleetSize, let slots else { return "fleet guard: no slot yet" }
            let byPercent = FleetSlots.byPercent(fleetSize: fleetSize.nodes, fleet.maxTaintedPercent)
            let limit = slots < byPercent ? "maxTainted \(slots)" : "\(numberText(fleet.maxTaintedPercent))%"
            return "fleet limit: \(slots) of \(fleetSize.nodes) nodes (\(limit)) hold a slot (N: \(fleetSize.origin))"
        }
    }
}
