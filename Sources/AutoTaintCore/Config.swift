/// The agent's whole configuration: one immutable value, read from the ConfigMap's
/// `config.yaml`, with defaults filled in and environment overrides applied.
/// It flows from the config watcher to every part of the agent; nobody re-reads files.
public struct Config: Equatable, Sendable {
    /// Empty: the node name comes from `--node` or `$NODE_NAME`.
    public var nodeName: String = ""
    public var sampling = Sampling()
    public var signals = Signals()
    public var prometheus = Prometheus()
    /// How often each condition is re-reported when nothing changes.
    public var heartbeat: Duration = .seconds(300)
    public var fleet = Fleet()
    public var shutdown = Shutdown()
    public var server = Server()
    public var dryRun = false

    public init() {}

    public struct Sampling: Equatable, Sendable {
        public var interval: Duration = .seconds(5)
        public var source: SourceMode = .auto
        public init() {}
    }

    public struct Signals: Equatable, Sendable {
        public var cpu = SignalConfig.cpuDefaults
        public var memory = SignalConfig.memoryDefaults
        public var cpuContention = SignalConfig.cpuContentionDefaults
        public init() {}

        public subscript(kind: SignalKind) -> SignalConfig {
            get {
                switch kind {
                case .cpu: cpu
                case .memory: memory
                case .cpuContention: cpuContention
                }
            }
            set {
                switch kind {
                case .cpu: cpu = newValue
                case .memory: memory = newValue
                case .cpuContention: cpuContention = newValue
                }
            }
        }

        /// The enabled signals, in a fixed order.
        public var enabled: [SignalKind] { SignalKind.allCases.filter { self[$0].enabled } }
    }

    public struct Prometheus: Equatable, Sendable {
        /// Empty: no Prometheus; `source: auto` then means /proc only.
        public var url: String = ""
        /// `$node` is replaced by the node name, regex-escaped then PromQL-string-escaped.
        public var query: String =
            #"100 * (1 - avg(rate(node_cpu_seconds_total{mode="idle",instance=~"$node(:[0-9]+)?"}[1m])))"#
        public var timeout: Duration = .seconds(5)
        /// A value older than this counts as no value; a signal with no value for this
        /// long goes `unknown`.
        public var staleAfter: Duration = .seconds(60)
        public init() {}
    }

    /// The fleet guard: at most K nodes of the DaemonSet's N carry a hard own taint
    /// (NoSchedule, NoExecute) at once, each holding one of K slot Leases.
    public struct Fleet: Equatable, Sendable {
        /// 0 turns the guard off; else K = max(1, floor(maxTaintedPercent × N / 100)).
        public var maxTaintedPercent: Double = 30
        /// An absolute cap on K as well, when > 0.
        public var maxTainted: Double = 0
        /// What a node in pressure without a slot writes instead of its hard taint.
        public var overflowEffect: OverflowEffect = .preferNoSchedule
        /// A holder not seen renewing for this long has lost its slot.
        public var leaseDuration: Duration = .seconds(120)
        /// The fleet: this DaemonSet's nodes whose agent is up are N (`FleetSize.live`), and
        /// its slots are `<daemonSet>-slot-<i>`.
        public var daemonSet: String = "autotaint"
        public init() {}

        public var isEnabled: Bool { maxTaintedPercent > 0 }
    }

    public struct Shutdown: Equatable, Sendable {
        /// On SIGTERM: remove own taints and set own conditions to Unknown.
        public var removeTaints = true
        public init() {}
    }

    public struct Server: Equatable, Sendable {
        /// `host:port` or `:port` for /metrics, /healthz, /readyz; empty disables.
        public var address: String = ":9469"
        public init() {}
    }
}

/// Where samples come from.
public enum SourceMode: String, CaseIterable, Equatable, Sendable {
    case proc
    case prometheus
    /// /proc, falling back to Prometheus when /proc cannot serve.
    case auto
}

/// The resources the agent watches; each has its own thresholds, taint and condition.
public enum SignalKind: String, CaseIterable, Equatable, Sendable {
    case cpu
    case memory
    /// PSI: the share of wall time in which at least one runnable task waited for a CPU
    /// (`some` of /proc/pressure/cpu), read 0 below `minUsagePercent` of CPU usage.
    case cpuContention
}

/// By case, not by `rawValue`: for a String raw value the default equality and hash build
/// and hash the name on every dictionary access (a dozen a tick, per signal).
extension SignalKind: Hashable {
    public static func == (lhs: SignalKind, rhs: SignalKind) -> Bool {
        lhs.ordinal == rhs.ordinal
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(ordinal)
    }

    private var ordinal: Int {
        switch self {
        case .cpu: 0
        case .memory: 1
        case .cpuContention: 2
        }
    }
}

/// One signal's thresholds, hold times, taint and condition type.
public struct SignalConfig: Equatable, Sendable {
    public var enabled: Bool
    /// Enter pressure when usage >= highPercent for `for`.
    public var highPercent: Double
    /// Leave pressure when usage <= lowPercent for `recoverFor`.
    public var lowPercent: Double
    /// cpuContention only (a setting of that signal alone; 0, no gate, for the others):
    /// below this node CPU usage, stall is CFS throttling of single cgroups, not
    /// contention, and the signal reads 0.
    public var minUsagePercent: Double
    public var `for`: Duration
    public var recoverFor: Duration
    /// The taint is never added or removed sooner than this after its last change.
    public var minHold: Duration
    public var taint: TaintSpec
    /// The Node condition type this signal reports as.
    public var condition: String
    /// False: report-only. The signal runs as usual (hysteresis, condition, Events,
    /// metrics) but its taint is never written, so a fleet can be watched before it is
    /// enforced.
    public var enforce: Bool
    /// `NoExecute` evicts running pods, so it must be asked for explicitly.
    public var allowNoExecute: Bool

    public init(
        enabled: Bool, highPercent: Double, lowPercent: Double, minUsagePercent: Double = 0,
        for holdHigh: Duration = .seconds(30), recoverFor: Duration = .seconds(120),
        minHold: Duration = .seconds(60), taint: TaintSpec, condition: String,
        enforce: Bool = true, allowNoExecute: Bool = false
    ) {
        self.enabled = enabled
        self.highPercent = highPercent
        self.lowPercent = lowPercent
        self.minUsagePercent = minUsagePercent
        self.for = holdHigh
        self.recoverFor = recoverFor
        self.minHold = minHold
        self.taint = taint
        self.condition = condition
        self.enforce = enforce
        self.allowNoExecute = allowNoExecute
    }

    public static let cpuDefaults = SignalConfig(
        enabled: true, highPercent: 80, lowPercent: 60,
        taint: TaintSpec(key: "autotaint.dev/cpu-pressure", value: "true", effect: .noSchedule),
        condition: "CPUPressure"
    )

    public static let memoryDefaults = SignalConfig(
        enabled: false, highPercent: 90, lowPercent: 80,
        taint: TaintSpec(key: "autotaint.dev/memory-pressure", value: "true", effect: .noSchedule),
        condition: "MemoryUsagePressure"
    )

    public static let cpuContentionDefaults = SignalConfig(
        enabled: false, highPercent: 40, lowPercent: 20, minUsagePercent: 50,
        taint: TaintSpec(key: "autotaint.dev/cpu-contention", value: "true", effect: .noSchedule),
        condition: "CPUContention"
    )
}

/// The taint a signal owns while it is in pressure.
public struct TaintSpec: Equatable, Hashable, Sendable {
    public var key: String
    public var value: String
    public var effect: TaintEffect

    public init(key: String, value: String, effect: TaintEffect) {
        self.key = key
        self.value = value
        self.effect = effect
    }
}

public enum TaintEffect: String, CaseIterable, Equatable, Hashable, Sendable {
    case noSchedule = "NoSchedule"
    case preferNoSchedule = "PreferNoSchedule"
    case noExecute = "NoExecute"

    /// Keeps new pods off (or evicts them): a node carrying one needs a fleet slot.
    public var isHard: Bool { self != .preferNoSchedule }
}

/// What a node in pressure without a fleet slot writes in place of its hard taint.
public enum OverflowEffect: String, CaseIterable, Equatable, Sendable {
    case preferNoSchedule = "PreferNoSchedule"
    /// No taint at all.
    case none = "None"
}
