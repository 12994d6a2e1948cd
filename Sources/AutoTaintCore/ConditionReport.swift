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
    /// Made when read, for a report made from a signal's state: most reports are made for a
    /// tick that writes nothing, and the text cost half of making the tick's view.
    public var message: String {
        get {
            switch text {
            case let .written(message): message
            case let .deferred(parts): parts.message
            }
        }
        set { text = .written(newValue) }
    }

    private var text: Text
    /// False for a report-only signal (`enforce: false`), whose message says its taint is
    /// withheld; a switch is written at once, not at the next heartbeat.
    public var enforced: Bool
    /// The message carries a note about the value (the throttling gate zeroed a stall).
    public var hasNote: Bool
    /// The fleet guard holds the signal's hard taint back (no slot); the message says why.
    /// A switch either way is written at once: the condition must not contradict the taint.
    public var heldBack = false

    public init(
        type: String, status: ConditionStatus, reason: String, message: String, enforced: Bool = true,
        hasNote: Bool = false
    ) {
        self.type = type
        self.status = status
        self.reason = reason
        text = .written(message)
        self.enforced = enforced
        self.hasNote = hasNote
    }

    public static func == (lhs: ConditionReport, rhs: ConditionReport) -> Bool {
        lhs.type == rhs.type && lhs.status == rhs.status && lhs.reason == rhs.reason && lhs.enforced == rhs.enforced
            && lhs.hasNote == rhs.hasNote && lhs.heldBack == rhs.heldBack && lhs.message == rhs.message
    }

    private enum Text: Sendable {
        case written(String)
        case deferred(MessageParts)
    }

    /// The report for `signal` in `state`; `provenance` says where its last value came
    /// from and why later ticks had none. True while the signal holds its taint
    /// (pressure, pending-low), False while it does not (normal, pending-high), Unknown
    /// without a recent value.
    public init(_ signal: SignalKind, _ config: SignalConfig, _ state: SignalState,
                provenance: Provenance, staleAfter: Duration) {
        let (status, reasonSuffix): (ConditionStatus, String) = switch state.phase {
        case .normal: (.false, "Normal")
        case .pendingHigh: (.false, "Rising")
        case .pressure: (.true, "High")
        case .pendingLow: (.true, "Recovering")
        case .unknown: (.unknown, "Unknown")
        }
        type = config.condition
        self.status = status
        reason = signal.reasonPrefix + reasonSuffix
        text = .deferred(MessageParts(
            signal: signal, config: config, state: state, provenance: provenance, staleAfter: staleAfter))
        enforced = config.enforce
        hasNote = provenance.note != nil
    }
}

/// What a signal's condition message is made of: the value, the threshold and the source.
private struct MessageParts: Sendable {
    let signal: SignalKind
    let config: SignalConfig
    let state: SignalState
    let provenance: Provenance
    let staleAfter: Duration

    var message: String {
        let source = provenance.lastSource
        let name = signal.displayName
        let high = percentText(config.highPercent)
        let low = percentText(config.lowPercent)
        let seen = "\(name) \(state.lastPercent.map(valueText) ?? "n/a")"
        let from = " (\(source?.rawValue ?? "no source"))"
        let message = switch state.phase {
        case .normal: "\(seen) < \(high)%" + from
        case .pendingHigh: "\(seen) >= \(high)%, taint after \(config.for.kubernetesText)" + from
        case .pressure: "\(seen) >= \(high)% for \(config.for.kubernetesText)" + from
        case .pendingLow: "\(seen) <= \(low)%, taint removed after \(config.recoverFor.kubernetesText)" + from
        case .unknown:
            "no \(name) sample\(provenance.unavailable ? "" : " for \(staleAfter.kubernetesText)"): "
                + (provenance.lastProblem ?? "no value")
                + "; last \(seen)\(from); \(state.tainted ? "taint kept" : "no taint")"
        }
        let note = provenance.note.map { "; \($0)" } ?? ""
        // A report-only signal says so in every report, so `kubectl describe node` never
        // suggests a taint that is not there.
        let withheld = config.enforce ? "" : state.tainted ? "; taint withheld (enforce: false)" : "; report-only (enforce: false)"
        return message + note + withheld
    }
}

/// Where a signal's last value came from, and why the ticks since had none.
public struct Provenance: Equatable, Sendable {
    public var lastSource: SampleSource?
    /// e.g. `prometheus timeout`; nil once a value arrives.
    public var lastProblem: String?
    /// What the last value needs said beside it, e.g. that the throttling gate read a
    /// CPU stall as 0.
    public var note: String?
    /// The source cannot give this signal at all (no PSI in the kernel); `lastProblem`
    /// then says why and how to fix it.
    public var unavailable: Bool

    public init(lastSource: SampleSource? = nil, lastProblem: String? = nil, note: String? = nil, unavailable: Bool = false) {
        self.lastSource = lastSource
        self.lastProblem = lastProblem
        self.note = note
        self.unavailable = unavailable
    }
}

extension SignalKind {
    /// How messages name the signal: `CPU`, `Memory`, `CPU stall`.
    public var displayName: String {
        switch self {
        case .cpu: "CPU"
        case .memory: "Memory"
        case .cpuContention: "CPU stall"
        }
    }

    /// How condition reasons begin: `CPUUsage` (`CPUUsageHigh`), `MemoryUsage`, `CPUContention`.
    var reasonPrefix: String {
        switch self {
        case .cpu: "CPUUsage"
        case .memory: "MemoryUsage"
        case .cpuContention: "CPUContention"
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
