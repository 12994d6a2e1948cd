/// One read of /proc/pressure/cpu: the `total=` of its `some` line, microseconds of wall
/// time in which at least one runnable task waited for a CPU since boot, with the
/// monotonic time of the read. The share comes from two reads, never from `avg10`,
/// which lags by ten seconds.
public struct StallReading: Equatable, Sendable {
    public var someTotalMicroseconds: UInt64
    /// Monotonic clock, microseconds.
    public var atMicroseconds: UInt64

    public init(someTotalMicroseconds: UInt64, atMicroseconds: UInt64) {
        self.someTotalMicroseconds = someTotalMicroseconds
        self.atMicroseconds = atMicroseconds
    }

    /// Reads the `some` line of the file's text, e.g.
    /// `some avg10=0.00 avg60=0.54 avg300=6.18 total=77345942`.
    public init(pressureText text: some StringProtocol, at atMicroseconds: UInt64) throws(UsageUnavailable) {
        let some = text.split(separator: "\n").first { $0.hasPrefix("some ") }
        let total = some?.split(separator: " ").first { $0.hasPrefix("total=") }?.dropFirst("total=".count)
        guard let total, let value = UInt64(total) else {
            throw .malformedPressure(String(text.prefix(200)))
        }
        self.init(someTotalMicroseconds: value, atMicroseconds: atMicroseconds)
    }

    /// The share of the wall time between `earlier` and `self` in which some task
    /// waited, in percent, at most 100 (the two clocks are read a few microseconds
    /// apart). A counter that went backwards or no elapsed time gives no value.
    public func stallPercent(since earlier: StallReading) -> Result<Double, UsageUnavailable> {
        guard someTotalMicroseconds >= earlier.someTotalMicroseconds else {
            return .failure(.stallWentBackwards(from: earlier.someTotalMicroseconds, to: someTotalMicroseconds))
        }
        guard atMicroseconds > earlier.atMicroseconds else { return .failure(.noTimeElapsed) }
        let stalled = Double(someTotalMicroseconds - earlier.someTotalMicroseconds)
        return .success(min(100, stalled / Double(atMicroseconds - earlier.atMicroseconds) * 100))
    }
}

/// CFS throttling of a single cgroup shows as node-wide CPU stall while cores sit idle
/// (the trap that stalled Kubernetes' PSI node conditions, KEP-4205): below
/// `minUsagePercent` of node CPU usage, stall is not contention and reads 0.
public struct ThrottlingGate: Equatable, Sendable {
    public var minUsagePercent: Double
    /// A zeroed stall above this is said in the condition (the signal's lowPercent: less
    /// would not have mattered to the taint either way).
    public var notableStallPercent: Double

    public init(minUsagePercent: Double, notableStallPercent: Double) {
        self.minUsagePercent = minUsagePercent
        self.notableStallPercent = notableStallPercent
    }

    /// The gate of the cpuContention signal `config`.
    public init(_ config: SignalConfig) {
        self.init(minUsagePercent: config.minUsagePercent, notableStallPercent: config.lowPercent)
    }

    /// The value the cpuContention signal observes, and why it is 0 when the gate zeroed
    /// a notable stall.
    public func judge(stallPercent: Double, cpuUsagePercent: Double) -> (percent: Double, note: String?) {
        guard cpuUsagePercent < minUsagePercent else { return (stallPercent, nil) }
        guard stallPercent > notableStallPercent else { return (0, nil) }
        return (0, "CPU stall \(valueText(stallPercent)) at CPU usage \(valueText(cpuUsagePercent)) "
            + "(below minUsagePercent \(percentText(minUsagePercent))%): CFS throttling, not contention")
    }
}
