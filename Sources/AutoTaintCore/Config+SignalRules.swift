extension Config {
    /// Condition types kubelet writes itself; a second writer would fight it.
    static let kubeletConditionTypes: Set<String> = ["Ready", "MemoryPressure", "DiskPressure", "PIDPressure", "NetworkUnavailable"]

    /// Each signal's own rules (disabled ones too, so enabling one later cannot surprise),
    /// then the rules between enabled signals.
    var signalViolations: [RuleViolation] {
        SignalKind.allCases.flatMap { signals[$0].violations(key: "signals.\($0.rawValue)") } + sharingViolations
    }

    /// Two enabled signals with one taint or one condition would undo each other's writes.
    private var sharingViolations: [RuleViolation] {
        let enabled = signals.enabled
        var found: [RuleViolation] = []
        for (position, later) in enabled.enumerated() {
            for earlier in enabled[..<position] {
                let (first, second) = (signals[earlier], signals[later])
                let key = "signals.\(later.rawValue)"
                if first.taint.key == second.taint.key && first.taint.effect == second.taint.effect {
                    found.append(RuleViolation("\(key).taint.key",
                        "\(second.taint.key) with effect \(second.taint.effect.rawValue) is already the taint of signals.\(earlier.rawValue); each enabled signal needs its own"))
                }
                if first.condition == second.condition {
                    found.append(RuleViolation("\(key).condition",
                        "\(second.condition) is already the condition of signals.\(earlier.rawValue); each enabled signal needs its own"))
                }
            }
        }
        return found
    }
}

extension SignalConfig {
    /// The rules for one signal, whose settings live under `key` (`signals.cpu`).
    func violations(key: String) -> [RuleViolation] {
        thresholdViolations(key: key) + taintViolations(key: key) + conditionViolations(key: key)
    }

    private func thresholdViolations(key: String) -> [RuleViolation] {
        let outOfRange = [("highPercent", highPercent), ("lowPercent", lowPercent), ("minUsagePercent", minUsagePercent)]
            .filter { !(0...100).contains($0.1) }
        guard outOfRange.isEmpty else {
            return outOfRange.map { name, percent in
                RuleViolation("\(key).\(name)", "\(numberText(percent)) must be between 0 and 100 (percent of the whole node)")
            }
        }
        guard lowPercent < highPercent else {
            return [RuleViolation([
                .init(key: "\(key).lowPercent",
                      message: "\(numberText(lowPercent)) must be below highPercent (\(numberText(highPercent)))"),
                .init(key: "\(key).highPercent",
                      message: "\(numberText(highPercent)) must be above lowPercent (\(numberText(lowPercent)))"),
            ])]
        }
        return []
    }

    private func taintViolations(key: String) -> [RuleViolation] {
        var found: [RuleViolation] = []
        if let problem = KubernetesNames.qualifiedNameProblem(taint.key) {
            found.append(RuleViolation("\(key).taint.key", "\"\(taint.key)\" is not a valid taint key: \(problem)"))
        } else if let prefix = taint.key.split(separator: "/").dropLast().first, KubernetesNames.isReservedPrefix(prefix) {
            found.append(RuleViolation("\(key).taint.key",
                "\"\(taint.key)\" uses \(prefix)/, which Kubernetes reserves (kubernetes.io, k8s.io and their subdomains); use a domain of your own, e.g. autotaint.dev/"))
        }
        if !KubernetesNames.isLabelValue(taint.value) {
            found.append(RuleViolation("\(key).taint.value",
                "\"\(taint.value)\" is not a valid taint value: it must be empty or \(KubernetesNames.nameRule)"))
        }
        if taint.effect == .noExecute && !allowNoExecute {
            found.append(RuleViolation("\(key).taint.effect",
                "NoExecute evicts running pods; set \(key).allowNoExecute: true to use it, or use NoSchedule or PreferNoSchedule"))
        }
        return found
    }

    private func conditionViolations(key: String) -> [RuleViolation] {
        if Config.kubeletConditionTypes.contains(condition) {
            return [RuleViolation("\(key).condition", "\(condition) is kubelet's own condition type; choose another name")]
        }
        let isCamelCase = condition.first.map { $0.isASCII && $0.isUppercase } == true
            && condition.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) }
        guard isCamelCase else {
            return [RuleViolation("\(key).condition",
                "\"\(condition)\" is not a condition type: it must be CamelCase, a capital letter then letters and digits")]
        }
        return []
    }
}
