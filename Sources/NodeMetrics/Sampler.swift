import AutoTaintCore

/// One reading of one signal: usage in percent of the whole node (0–100).
public struct Sample: Equatable, Sendable {
    public var percent: Double
    public var source: SampleSource
    /// cpuContention only: the node's CPU usage over the same interval, for the
    /// throttling gate.
    public var cpuUsagePercent: Double?
    /// What the value needs said beside it in the condition, e.g. why the gate read 0.
    public var note: String?

    public init(percent: Double, source: SampleSource, cpuUsagePercent: Double? = nil, note: String? = nil) {
        self.percent = percent
        self.source = source
        self.cpuUsagePercent = cpuUsagePercent
        self.note = note
    }
}

/// Why a read gave no value. Each reason is logged and counted, never turned into a number.
public struct NoSample: Error, Equatable, Sendable, CustomStringConvertible {
    public var source: SampleSource
    /// A short, stable label for metrics (`no_previous_read`, `counter_reset`, …).
    public var reason: String
    /// What a person needs to know, e.g. the path and the error.
    public var detail: String

    public init(source: SampleSource, reason: String, detail: String) {
        self.source = source
        self.reason = reason
        self.detail = detail
    }

    public var description: String { "\(source.rawValue): \(reason): \(detail)" }

    /// A sampler that returned nothing for a signal it was asked about.
    public static let notSampled = NoSample(source: .proc, reason: "not_sampled", detail: "the sampler returned nothing")

    /// The reason when the kernel has no PSI: no later tick will have a value either.
    public static let noPSI = "no_psi"

    /// The source cannot give this signal at all, as opposed to missing one tick.
    public var meansUnavailable: Bool { reason == Self.noPSI || reason == "not_from_prometheus" }
}

/// Reads the node's current usage of the watched resources.
///
/// One call per tick; an implementation may keep state between calls (CPU needs the
/// previous counters to compute a delta), so a sampler is owned by one task and is not
/// `Sendable`.
public protocol Sampler {
    mutating func sample(_ signals: [SignalKind]) async -> [SignalKind: Result<Sample, NoSample>]
}

extension Sampler {
    /// One tick's values as the hysteresis takes them: the enabled signals of `config`
    /// sampled, and cpuContention's stall passed through its throttling gate.
    public mutating func readings(_ config: Config) async -> [SignalKind: Result<Sample, NoSample>] {
        var results = await sample(config.signals.enabled)
        if case var .success(stall)? = results[.cpuContention], let usage = stall.cpuUsagePercent {
            let gate = ThrottlingGate(config.signals.cpuContention)
            (stall.percent, stall.note) = gate.judge(stallPercent: stall.percent, cpuUsagePercent: usage)
            results[.cpuContention] = .success(stall)
        }
        return results
    }
}

extension SignalState {
    /// Advances the machine by one tick's reading: a value, a missed tick, or a source
    /// that cannot give this signal at all (unknown at once).
    public mutating func observe(_ reading: Result<Sample, NoSample>, at now: Instant, _ thresholds: Thresholds) {
        switch reading {
        case let .success(sample): observe(sample.percent, at: now, thresholds)
        case let .failure(noSample) where noSample.meansUnavailable: observeUnavailable(at: now)
        case .failure: observe(nil, at: now, thresholds)
        }
    }
}

extension Provenance {
    /// Takes one tick's reading: a value replaces everything (its source and its note); a
    /// miss keeps the last source and says why, in full when no later tick can do better.
    public mutating func record(_ reading: Result<Sample, NoSample>) {
        switch reading {
        case let .success(sample): self = Provenance(lastSource: sample.source, note: sample.note)
        case let .failure(noSample):
            lastProblem = noSample.meansUnavailable ? noSample.description : "\(noSample.source.rawValue) \(noSample.reason)"
            unavailable = noSample.meansUnavailable
        }
    }
}
