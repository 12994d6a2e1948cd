extension Config {
    /// Bounds on the durations that are not per signal. Where two durations constrain
    /// each other, the one the operator set is blamed.
    var timingViolations: [RuleViolation] {
        let interval = sampling.interval.kubernetesText
        let staleAfter = prometheus.staleAfter.kubernetesText
        let heartbeat = self.heartbeat.kubernetesText
        var found: [RuleViolation] = []
        if sampling.interval < .seconds(1) {
            found.append(RuleViolation("sampling.interval",
                "\(interval) must be at least 1s: libproc2 re-reads /proc at most once per second"))
        }
        if prometheus.timeout <= .zero || prometheus.timeout > .seconds(60) {
            found.append(RuleViolation("prometheus.timeout",
                "\(prometheus.timeout.kubernetesText) must be longer than 0s and at most 1m"))
        }
        if prometheus.staleAfter < sampling.interval * 2 {
            let reason = "so that one late sample does not make a signal unknown"
            found.append(RuleViolation([
                .init(key: "prometheus.staleAfter",
                      message: "\(staleAfter) must be at least twice sampling.interval (\(interval)) \(reason)"),
                .init(key: "sampling.interval",
                      message: "\(interval) must be at most half of prometheus.staleAfter (\(staleAfter)) \(reason)"),
            ]))
        }
        if !(Duration.seconds(60)...Duration.seconds(3600)).contains(self.heartbeat) {
            found.append(RuleViolation("heartbeat",
                "\(heartbeat) must be between 1m and 1h: more often loads the API server, less often makes conditions look stale"))
        } else if self.heartbeat < sampling.interval {
            found.append(RuleViolation([
                .init(key: "heartbeat", message: "\(heartbeat) must be at least sampling.interval (\(interval))"),
                .init(key: "sampling.interval", message: "\(interval) must be at most heartbeat (\(heartbeat))"),
            ]))
        }
        return found
    }
}
