import AutoTaintCore

/// One reading of one signal: usage in percent of the whole node (0–100).
public struct Sample: Equatable, Sendable {
    public var percent: Double
    public var source: SampleSource

    public init(percent: Double, source: SampleSource) {
        self.percent = percent
        self.source = source
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
}

/// Reads the node's current usage of the watched resources.
///
/// One call per tick; an implementation may keep state between calls (CPU needs the
/// previous counters to compute a delta), so a sampler is owned by one task and is not
/// `Sendable`.
public protocol Sampler {
    mutating func sample(_ signals: [SignalKind]) async -> [SignalKind: Result<Sample, NoSample>]
}
