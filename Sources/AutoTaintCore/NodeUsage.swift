/// The node's CPU time counters in clock ticks, as the aggregate `cpu` line of /proc/stat
/// has them. Guest and guest_nice are not fields: the kernel already counts them inside
/// user and nice, so adding them again would count that time twice.
public struct CPUTicks: Equatable, Sendable {
    public var user: UInt64
    public var nice: UInt64
    public var system: UInt64
    public var idle: UInt64
    public var iowait: UInt64
    public var irq: UInt64
    public var softirq: UInt64
    public var steal: UInt64

    public init(
        user: UInt64, nice: UInt64, system: UInt64, idle: UInt64,
        iowait: UInt64, irq: UInt64, softirq: UInt64, steal: UInt64
    ) {
        self.user = user
        self.nice = nice
        self.system = system
        self.idle = idle
        self.iowait = iowait
        self.irq = irq
        self.softirq = softirq
        self.steal = steal
    }

    var fields: [(name: String, value: UInt64)] {
        [
            ("user", user), ("nice", nice), ("system", system), ("idle", idle),
            ("iowait", iowait), ("irq", irq), ("softirq", softirq), ("steal", steal),
        ]
    }

    /// The busy share of the ticks that elapsed between `earlier` and `self`, over all
    /// CPUs, in percent. Idle and iowait count as not busy; steal counts as busy (the
    /// node could not run its own work then).
    ///
    /// A counter that went backwards (a reset, a CPU hot-plugged out) or no elapsed tick
    /// gives no value rather than a number outside 0–100.
    public func busyPercent(since earlier: CPUTicks) -> Result<Double, UsageUnavailable> {
        var elapsed = 0.0
        var idleElapsed = 0.0
        for (now, then) in zip(fields, earlier.fields) {
            guard now.value >= then.value else {
                return .failure(.counterWentBackwards(field: now.name, from: then.value, to: now.value))
            }
            let delta = Double(now.value - then.value)
            elapsed += delta
            if now.name == "idle" || now.name == "iowait" { idleElapsed += delta }
        }
        guard elapsed > 0 else { return .failure(.noTicksElapsed) }
        return .success(percent(elapsed - idleElapsed, of: elapsed))
    }
}

/// The node's memory figures from /proc/meminfo, in KiB.
public struct MemoryFigures: Equatable, Sendable {
    public var total: UInt64
    public var available: UInt64

    public init(total: UInt64, available: UInt64) {
        self.total = total
        self.available = available
    }

    /// Memory in use (total − available) in percent of total.
    public func usedPercent() -> Result<Double, UsageUnavailable> {
        guard total > 0 else { return .failure(.noMemoryTotal) }
        guard available <= total else {
            return .failure(.availableExceedsTotal(available: available, total: total))
        }
        return .success(percent(Double(total - available), of: Double(total)))
    }
}

/// `part` in percent of `whole` (0 ≤ part ≤ whole, whole > 0), never above 100: the share
/// is taken first, and `part / whole` is at most 1 in floating point as it is in exact
/// arithmetic, whereas `part * 100 / whole` can round to 100.00000000000001 for large
/// counters.
private func percent(_ part: Double, of whole: Double) -> Double {
    part / whole * 100
}

/// Why counters gave no usage figure. Each case has a stable metric label.
public enum UsageUnavailable: Error, Equatable, Sendable, CustomStringConvertible {
    case counterWentBackwards(field: String, from: UInt64, to: UInt64)
    case noTicksElapsed
    case noMemoryTotal
    case availableExceedsTotal(available: UInt64, total: UInt64)
    case stallWentBackwards(from: UInt64, to: UInt64)
    case noTimeElapsed
    case malformedPressure(String)

    public var label: String {
        switch self {
        case .counterWentBackwards, .stallWentBackwards: "counter_reset"
        case .noTicksElapsed: "no_ticks_elapsed"
        case .noMemoryTotal: "no_memory_total"
        case .availableExceedsTotal: "available_exceeds_total"
        case .noTimeElapsed: "no_time_elapsed"
        case .malformedPressure: "malformed_pressure"
        }
    }

    public var description: String {
        switch self {
        case let .counterWentBackwards(field, from, to):
            "CPU counter \(field) went backwards from \(from) to \(to) ticks"
        case .noTicksElapsed: "no CPU ticks elapsed between two reads"
        case .noMemoryTotal: "MemTotal is 0"
        case let .availableExceedsTotal(available, total):
            "MemAvailable \(available) kB exceeds MemTotal \(total) kB"
        case let .stallWentBackwards(from, to): "CPU stall counter (some total) went backwards from \(from) to \(to) µs"
        case .noTimeElapsed: "no time elapsed between two reads of /proc/pressure/cpu"
        case let .malformedPressure(text): "/proc/pressure/cpu has no \"some ... total=N\" line: \"\(text)\""
        }
    }
}
