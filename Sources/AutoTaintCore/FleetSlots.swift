/// The fleet guard's arithmetic: how many slots a fleet of N nodes has, and how long a
/// node without one waits between attempts.
public enum FleetSlots {
    /// K = max(1, floor(maxTaintedPercent × N / 100)), capped by `maxTainted` when set: one
    /// node may always carry a hard taint, so a 1- or 3-node cluster behaves as without
    /// the guard. Nil while the guard is off.
    public static func count(fleetSize: Int, _ fleet: Config.Fleet) -> Int? {
        guard fleet.isEnabled else { return nil }
        var slots = byPercent(fleetSize: fleetSize, fleet.maxTaintedPercent)
        if fleet.maxTainted > 0 { slots = min(slots, Int(fleet.maxTainted)) }
        return slots
    }

    /// max(1, floor(percent × N / 100)): the percent limit alone.
    public static func byPercent(fleetSize: Int, _ percent: Double) -> Int {
        // The product first, so 30 % of 10 is exactly 3 and not 2.999….
        let share = (percent * Double(max(fleetSize, 0)) / 100).rounded(.down)
        return max(1, share < Double(Int.max) ? Int(share) : Int.max)
    }

    /// The longest wait between two attempts of a node without a slot: N × 300 ms, at
    /// least 5 s and at most 30 min. It grows with the fleet so that all waiting nodes
    /// together stay within the API budget (docs/fleet-guard.md: at 5,000 nodes the
    /// 3,500 waiting ones make ≈ 6 requests/s, 2 an attempt every 1,125 s on average).
    public static func retryCap(fleetSize: Int) -> Duration {
        let cap = Duration.milliseconds(300) * max(fleetSize, 0)
        return min(max(cap, .seconds(5)), .seconds(1800))
    }

    /// The window over which a node entering pressure spreads its first attempt: N × 50 ms,
    /// at most 30 min. Nodes entering pressure together then start about 20 attempts a
    /// second whatever N is (5,000 nodes: over 250 s, the K-th slot taken after about
    /// 75 s), where they all started in the same second before. A small fleet hardly
    /// waits: 1 s at 20 nodes, which a step waits out (`FleetGate.onsetWaitInStep`).
    public static func onsetWindow(fleetSize: Int) -> Duration {
        min(Duration.milliseconds(50) * max(fleetSize, 0), .seconds(1800))
    }

    /// Of the slots a LIST offered as free, the one this node takes: below K, with no
    /// holder (the label only says where to look; the record decides), and chosen by the
    /// node's hash among them, so nodes reading the same LIST spread over what it offers.
    public static func offeredSlot(
        _ offered: [(index: Int, record: SlotRecord)], identity: String, slots: Int
    ) -> (index: Int, record: SlotRecord)? {
        let free = offered.filter { $0.index < slots && $0.record.holder.isEmpty }
        guard !free.isEmpty else { return nil }
        return free[firstSlot(for: identity, slots: free.count)]
    }

    /// The slot a node tries first: spread by its name, so nodes entering pressure
    /// together do not all race for slot 0. FNV-1a, stable across processes (Swift's
    /// `Hasher` is seeded per process).
    public static func firstSlot(for identity: String, slots: Int) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in identity.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return Int(hash % UInt64(max(slots, 1)))
    }

    /// `<daemonSet>-slot-<i>`: the slots of the fleet `daemonSet` spans, so fleets of several
    /// DaemonSets (one per node pool or zone) keep separate budgets in one namespace.
    public static func leaseName(_ index: Int, fleet daemonSet: String) -> String { "\(daemonSet)-slot-\(index)" }

    /// The index in the name of one of `daemonSet`'s slot Leases, nil for any other name.
    public static func index(ofLease name: String, fleet daemonSet: String) -> Int? {
        let prefix = "\(daemonSet)-slot-"
        guard name.hasPrefix(prefix) else { return nil }
        let digits = name.dropFirst(prefix.count)
        guard !digits.isEmpty, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber),
              digits == "0" || digits.first != "0" else { return nil }
        return Int(digits)
    }

    /// The fleet a slot Lease belongs to: its `autotaint.dev/fleet` label, or `autotaint` for
    /// a Lease written before slots were named by their DaemonSet (`autotaint-slot-<i>`,
    /// unlabelled), which is the default DaemonSet's, so an upgrade keeps its slots.
    public static func fleet(ofLeaseLabels labels: [String: String]) -> String {
        labels[fleetLabel] ?? legacyFleet
    }

    public static let fleetLabel = "autotaint.dev/fleet"
    static let legacyFleet = "autotaint"
}

/// A slot Lease as the guard reads it.
public struct SlotRecord: Equatable, Sendable {
    /// The node holding it; empty: free.
    public var holder: String
    public var resourceVersion: String
    /// The record's own `leaseDurationSeconds`; nil: the config's.
    public var leaseDuration: Duration?
    public var transitions: Int
    /// No node has held it yet (no `acquireTime`): made free by a `prepare`.
    public var neverHeld: Bool

    public init(holder: String, resourceVersion: String, leaseDuration: Duration? = nil, transitions: Int = 0,
                neverHeld: Bool = false) {
        self.holder = holder
        self.resourceVersion = resourceVersion
        self.leaseDuration = leaseDuration
        self.transitions = transitions
        self.neverHeld = neverHeld
    }
}

/// Why the guard could not do what it asked of the API server; the node then has no
/// slot (fail safe).
public struct FleetFailure: Equatable, Sendable {
    public enum Cause: String, Equatable, Sendable, CaseIterable {
        /// 403: RBAC or admission (an install with an rbac.yaml from before the guard).
        case forbidden
        /// 401 even with a re-read token: the token is expired or not the pod's.
        case unauthorized
        /// 404 on the DaemonSet: `fleet.daemonSet` names none in the agent's namespace.
        case daemonSetNotFound = "daemonset_not_found"
        /// No answer: refused, reset, timeout.
        case unreachable
        /// 5xx, 429.
        case serverError = "server_error"
        /// An answer that is not what was asked for (or another 4xx).
        case invalidResponse = "invalid_response"
    }

    public var cause: Cause
    /// What went wrong, for the condition message and the log: `GET leases/…: …`.
    public var detail: String

    public init(_ cause: Cause, _ detail: String) {
        self.cause = cause
        self.detail = detail
    }

    /// How the condition message names it.
    public var summary: String {
        switch cause {
        case .forbidden: "leases or the DaemonSet forbidden (apply the current rbac.yaml): \(detail)"
        case .unauthorized: "the API server does not accept the token: \(detail)"
        case .daemonSetNotFound: "DaemonSet not found (fleet.daemonSet): \(detail)"
        case .unreachable: "API server unreachable: \(detail)"
        case .serverError: "API server error: \(detail)"
        case .invalidResponse: "unexpected answer: \(detail)"
        }
    }
}
