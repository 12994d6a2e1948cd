/// A Node condition's status, as the API spells it.
public enum ConditionStatus: String, Equatable, Sendable {
    case `true` = "True"
    case `false` = "False"
    case unknown = "Unknown"
}

/// What one signal reports as its Node condition: type, status, reason and a message
/// that says the value, the threshold and the source, so `kubectl describe node` shows
/// why the taint is or is not there.
public struct ConditionReport: Equatable, Sendable {
    public var type: String
    public var status: ConditionStatus
    public var reason: String
    public var message: String

    public init(type: String, status: ConditionStatus, reason: String, message: String) {
        self.type = type
        self.status = status
        self.reason = reason
        self.message = message
    }

    /// The report for `signal` in `state`; `provenance` says where its last value came
    /// from and why later ticks had none. True while the signal holds its taint
    /// (pressure, pending-low), False while it does not (normal, pending-high), Unknown
    /// without a recent value.
    public init(_ signal: SignalKind, _ config: SignalConfig, _ state: SignalState,
                provenance: Provenance, staleAfter: Duration) {
        let source = provenance.lastSource
        let name = signal.displayName
        let reasonPrefix = "\(name)Usage"
        let high = percentText(config.highPercent)
        let low = percentText(config.lowPercent)
        let seen = "\(name) \(state.lastPercent.map(valueText) ?? "n/a")"
        let from = " (\(source?.rawValue ?? "no source"))"
        switch state.phase {
        case .normal:
            self.init(type: config.condition, status: .false, reason: reasonPrefix + "Normal",
                      message: "\(seen) < \(high)%" + from)
        case .pendingHigh:
            self.init(type: config.condition, status: .false, reason: reasonPrefix + "Rising",
                      message: "\(seen) >= \(high)%, taint after \(config.for.kubernetesText)" + from)
        case .pressure:
            self.init(type: config.condition, status: .true, reason: reasonPrefix + "High",
                      message: "\(seen) >= \(high)% for \(config.for.kubernetesText)" + from)
        case .pendingLow:
            self.init(type: config.condition, status: .true, reason: reasonPrefix + "Recovering",
                      message: "\(seen) <= \(low)%, taint removed after \(config.recoverFor.kubernetesText)" + from)
        case .unknown:
            let kept = state.tainted ? "taint kept" : "no taint"
            self.init(type: config.condition, status: .unknown, reason: reasonPrefix + "Unknown",
                      message: "no \(name) sample for \(staleAfter.kubernetesText): \(provenance.lastProblem ?? "no value")"
                          + "; last \(seen)\(from); \(kept)")
        }
    }
}

/// Where a signal's last value came from, and why the ticks since had none.
public struct Provenance: Equatable, Sendable {
    public var lastSource: SampleSource?
    /// e.g. `prometheus timeout`; nil once a value arrives.
    public var lastProblem: String?

    public init(lastSource: SampleSource? = nil, lastProblem: String? = nil) {
        self.lastSource = lastSource
        self.lastProblem = lastProblem
    }
}

extension SignalKind {
    /// How messages and reasons name the signal: `CPU`, `Memory`.
    public var displayName: String {
        switch self {
        case .cpu: "CPU"
        case .memory: "Memory"
        }
    }
}

/// A measured value with one decimal: `93.4%`.
func valueText(_ percent: Double) -> String {
    oneDecimal(percent) + "%"
}

/// A value rounded to one decimal, as logs and messages show it: `93.4`.
public func oneDecimal(_ value: Double) -> String {
    "\((value * 10).rounded() / 10)"
}

/// A configured threshold as written: `80`, or `80.5` when it has a fraction.
func percentText(_ percent: Double) -> String {
    percent == percent.rounded() && abs(percent) < 1e15 ? "\(Int(percent))" : "\(percent)"
}
