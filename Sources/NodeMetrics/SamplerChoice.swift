import AutoTaintCore

/// The sampler that `sampling.source` asks for, for the node called `node`.
///
/// `proc`: /proc only. `prometheus`: `prometheus.query` for CPU (memory gets no value).
/// `auto`: /proc, falling back to Prometheus for CPU while /proc cannot be read; without a
/// `prometheus.url` (or without the CPU signal) that is /proc only. `onSourceSwitch` hears
/// each switch between the two, once per switch.
public func makeSampler(
    for config: Config, node: String,
    onSourceSwitch: @escaping @Sendable (SourceSwitch) -> Void = { _ in }
) -> any Sampler {
    switch config.sampling.source {
    case .proc:
        return ProcSampler()
    case .prometheus:
        return PrometheusSampler(config.prometheus, node: node)
    case .auto:
        guard !config.prometheus.url.isEmpty, config.signals.cpu.enabled else { return ProcSampler() }
        return FallbackSampler(
            primary: ProcSampler(), secondary: PrometheusSampler(config.prometheus, node: node),
            onSwitch: onSourceSwitch)
    }
}
