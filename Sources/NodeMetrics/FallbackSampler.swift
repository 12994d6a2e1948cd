import AutoTaintCore

/// A change of the source the CPU signal is read from, for the `SourceFallback` Event and
/// its log line. Emitted once per change, not per tick.
public struct SourceSwitch: Equatable, Sendable, CustomStringConvertible {
    public var from: SampleSource
    public var to: SampleSource
    /// A stable label: the /proc failure that made it fall back (`read_failed`), or
    /// `proc_recovered` on the way back.
    public var reason: String
    /// What a person needs to know, e.g. the path and the error.
    public var detail: String

    public init(from: SampleSource, to: SampleSource, reason: String, detail: String) {
        self.from = from
        self.to = to
        self.reason = reason
        self.detail = detail
    }

    public var description: String { "\(from.rawValue) -> \(to.rawValue): \(reason): \(detail)" }
}

/// `sampling.source: auto`: /proc first, Prometheus while /proc cannot be read.
///
/// Every tick asks /proc. While /proc is in use, a failed read (`read_failed`) switches
/// the CPU signal to Prometheus for this tick and the next ones; other /proc misses (the
/// first read of a run, a counter reset) are passing and are returned as they are. While
/// Prometheus is in use, CPU comes from Prometheus until /proc gives a value again, then
/// it switches back. Each switch calls `onSwitch` once. Memory always comes from /proc:
/// Prometheus is asked about CPU only.
public struct FallbackSampler<Primary: Sampler, Secondary: Sampler>: Sampler {
    /// The /proc reasons that mean "/proc cannot serve" rather than "no value this tick".
    public static var fallbackReasons: Set<String> { ["read_failed"] }

    private var primary: Primary
    private var secondary: Secondary
    private let onSwitch: @Sendable (SourceSwitch) -> Void
    /// Where CPU values come from now.
    public private(set) var inUse: SampleSource = .proc

    public init(primary: Primary, secondary: Secondary, onSwitch: @escaping @Sendable (SourceSwitch) -> Void) {
        self.primary = primary
        self.secondary = secondary
        self.onSwitch = onSwitch
    }

    public mutating func sample(_ signals: [SignalKind]) async -> [SignalKind: Result<Sample, NoSample>] {
        var results = await primary.sample(signals)
        guard let cpu = results[.cpu] else { return results }
        switch (inUse, cpu) {
        case (.proc, .success):
            break
        case let (.proc, .failure(miss)):
            guard Self.fallbackReasons.contains(miss.reason) else { break }
            inUse = .prometheus
            onSwitch(SourceSwitch(from: .proc, to: .prometheus, reason: miss.reason, detail: miss.detail))
            results[.cpu] = await secondaryCPU(after: miss)
        case (.prometheus, .success):
            inUse = .proc
            onSwitch(SourceSwitch(from: .prometheus, to: .proc, reason: "proc_recovered",
                                  detail: "/proc gives CPU values again"))
        case let (.prometheus, .failure(miss)):
            results[.cpu] = await secondaryCPU(after: miss)
        }
        return results
    }

    private mutating func secondaryCPU(after miss: NoSample) async -> Result<Sample, NoSample> {
        let result = await secondary.sample([.cpu])[.cpu] ?? .failure(NoSample(
            source: .prometheus, reason: "not_sampled", detail: "the fallback sampler returned nothing"))
        // When both fail, say why /proc was not used either.
        return result.mapError { failure in
            var failure = failure
            failure.detail += " (fallback from \(miss.description))"
            return failure
        }
    }
}
