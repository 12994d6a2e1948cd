extension Config {
    /// The fleet guard's settings, checked even while it is off, so turning it on later
    /// cannot surprise; only the rule between leaseDuration and the interval waits for it.
    var fleetViolations: [RuleViolation] {
        var found: [RuleViolation] = []
        if !(0...100).contains(fleet.maxTaintedPercent) {
            found.append(RuleViolation("fleet.maxTaintedPercent",
                "\(numberText(fleet.maxTaintedPercent)) must be between 0 (guard off) and 100 (percent of the DaemonSet's nodes)"))
        }
        if fleet.maxTainted < 0 || fleet.maxTainted != fleet.maxTainted.rounded() || fleet.maxTainted > 1_000_000 {
            found.append(RuleViolation("fleet.maxTainted",
                "\(numberText(fleet.maxTainted)) must be a whole number of nodes from 0 (no absolute cap) to 1000000"))
        }
        let lease = fleet.leaseDuration.kubernetesText
        if fleet.leaseDuration < .seconds(3) || fleet.leaseDuration > .seconds(3600)
            || fleet.leaseDuration != .seconds(fleet.leaseDuration.components.seconds) {
            found.append(RuleViolation("fleet.leaseDuration",
                "\(lease) must be whole seconds from 3s to 1h (Leases count in seconds; renewals go every third of it)"))
        } else if fleet.isEnabled && fleet.leaseDuration < sampling.interval * 3 {
            let reason = "holders renew on ticks, every third of leaseDuration"
            found.append(RuleViolation([
                .init(key: "fleet.leaseDuration",
                      message: "\(lease) must be at least three times sampling.interval (\(sampling.interval.kubernetesText)): \(reason)"),
                .init(key: "sampling.interval",
                      message: "\(sampling.interval.kubernetesText) must be at most a third of fleet.leaseDuration (\(lease)): \(reason)"),
            ]))
        }
        if !KubernetesNames.isDNSSubdomain(fleet.daemonSet) {
            found.append(RuleViolation("fleet.daemonSet",
                "\"\(fleet.daemonSet)\" is not a DaemonSet name: it must be a DNS subdomain: \(KubernetesNames.dnsSubdomainRule)"))
        } else if !KubernetesNames.isLabelValue(fleet.daemonSet) {
            found.append(RuleViolation("fleet.daemonSet",
                "\"\(fleet.daemonSet)\" is \(fleet.daemonSet.count) characters: at most 63, since it is the value of the slot Leases' label \(FleetSlots.fleetLabel)"))
        }
        return found
    }
}
