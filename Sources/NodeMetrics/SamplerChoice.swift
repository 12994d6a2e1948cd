import AutoTaintCore

/// The sampler that `sampling.source` asks for.
public func makeSampler(for config: Config) -> any Sampler {
    ProcSampler()
}
