import AutoTaintCore
import FoundationEssentials
import KubeClient
import Logging

/// The fleet guard between a tick's view and the Node write: runs the requests
/// `SlotPolicy` asks for (on NodeSync's task, so never concurrently with a Node write) and
/// tells whether the view may keep its hard taints. A node whose signals want no hard
/// taint, holding no slot, makes no request at all.
///
/// In a dry run it reads (the DaemonSet, slots) and logs the writes it would make,
/// counting a would-be acquisition as held so the dry run reports what a real run would
/// write.
struct FleetGate {
    private let api: any FleetAPI
    private let namespace: String
    /// `fleet.daemonSet` at start: the fleet this agent's slots belong to. A reload does not
    /// move it to another fleet (its slot would be left behind under the old name); the
    /// DaemonSet an agent runs in does not change without a restart either.
    let daemonSet: String
    private let dryRun: Bool
    private let logger: Logger
    private let metrics: AgentMetrics?
    /// What the guard dates its requests and observations by. Not the tick's instant: a
    /// tick can reach the guard seconds late (the process was stopped, a Prometheus read
    /// was slow, a Node write held the queue), and a slot record dated that early would be
    /// judged expired while its holder still renews it.
    private let clock: @Sendable () -> Instant
    /// Waits on `clock`'s time: a first attempt due within `onsetWaitInStep` is waited for
    /// in the step, so a node of a small fleet is not written soft for a moment and hard
    /// right after.
    private let pause: @Sendable (Duration) async -> Void
    private(set) var policy: SlotPolicy
    /// Set while the node wants a hard taint and may not carry it: `FleetLimitReached` is
    /// posted on entering that state only.
    private(set) var overflowing = false
    /// When the last step last had a request answered as asked (a success, or a 409 from
    /// another writer); nil when it made none or each failed.
    private(set) var heardFromServer: Instant?

    /// Every slot Lease's labels: `autotaint.dev/fleet` names the DaemonSet whose fleet it
    /// serves, so `findFree` reads only its own fleet's slots.
    static func slotLabels(fleet daemonSet: String) -> [String: String] {
        ["app.kubernetes.io/name": "autotaint", "autotaint.dev/role": "fleet-slot", FleetSlots.fleetLabel: daemonSet]
    }

    /// Every fleet's slots, for `findOwn` (one LIST at start, only when the Node carries a
    /// hard own taint): by role and not by fleet, so a slot written before slots had the
    /// fleet label is found too; the name and the label then tell the fleet.
    static let slotSelector = "autotaint.dev/role=fleet-slot"
    /// Set by every write that changes the holder: `held`, `free` on release, `retired` on
    /// the release of a slot at or beyond K (never offered again unless K grows and a
    /// probe finds it). Only a hint for `findFree`: the record's holder decides.
    static let stateLabel = "autotaint.dev/slot-state"
    enum SlotState: String {
        case held, free, retired
    }

    static func freeSelector(fleet daemonSet: String) -> String {
        slotSelector + ",\(FleetSlots.fleetLabel)=\(daemonSet),\(stateLabel)=\(SlotState.free.rawValue)"
    }
    /// How late a tick may reach the guard and still date its first request.
    static let onTime = Duration.milliseconds(100)

    /// The longest wait for a first attempt that a step makes itself: one second delays the
    /// tick's Node write by at most that (a 20-node fleet's whole onset window); a later
    /// one is written with the overflow effect meanwhile.
    static let onsetWaitInStep = Duration.seconds(1)

    /// How many free slots one `findFree` reads: enough to spread the nodes reading the
    /// same page, small enough to stay one small answer.
    static let freePage = 3

    /// `adopting`: the Node carries a hard own taint at start, so the first step looks for
    /// this node's slot among the Leases before probing.
    init(api: any FleetAPI, namespace: String, daemonSet: String, identity: String, adopting: Bool, dryRun: Bool,
         logger: Logger, metrics: AgentMetrics?, clock: @escaping @Sendable () -> Instant,
         pause: @escaping @Sendable (Duration) async -> Void) {
        self.api = api
        self.pause = pause
        self.daemonSet = daemonSet
        self.clock = clock
        self.namespace = namespace
        self.dryRun = dryRun
        self.logger = logger
        self.metrics = metrics
        policy = SlotPolicy(identity: identity, adopting: adopting)
    }

    /// N known without reading it (`SlotPolicy.assume`).
    mutating func assume(_ size: FleetSize) {
        policy.assume(size)
    }

    /// What a step decided for the view.
    enum Verdict: Equatable {
        /// The view goes out as it is (guard off, no hard taint wanted, or a slot held).
        case asIs
        /// Its hard taints are held back; the text says why.
        case withheld(String)
        /// Entering overflow: held back, and `FleetLimitReached` is due.
        case enteredOverflow(String)
    }

    /// Runs the requests due (at most a handful: one attempt, or a renewal, or a release)
    /// on the tick at `tick` and says what the view may carry. `mayRelease`: the Node is known to carry
    /// no hard own taint.
    mutating func step(_ view: DesiredNodeView, mayRelease: Bool, _ config: Config, at tick: Instant) async -> Verdict {
        let fleet = config.fleet
        let wanted = fleet.isEnabled && FleetLimit.wantsSlot(view)
        heardFromServer = nil
        var waitedForOnset = false
        // A bound on the requests of one step, whatever the policy says.
        for number in 0..<8 {
            let now = clock()
            // The first request is dated at its tick when the tick is on time, so renewals
            // fall due on the ticks they should. A send dated early only makes its holder
            // give up sooner; a late tick's is dated at most `onTime` early.
            let sentAt = number == 0 ? min(max(tick, now - Self.onTime), now) : now
            guard let request = policy.next(wanted: wanted, mayRelease: mayRelease, fleet, at: now,
                                            onset: .random(in: 0..<1)) else {
                if !waitedForOnset, let due = policy.firstAttemptDue(at: now), due - now <= Self.onsetWaitInStep {
                    waitedForOnset = true
                    await pause(due - now)
                    continue
                }
                break
            }
            let outcome = await perform(request, fleet)
            let previousSize = policy.fleetSize
            policy.record(outcome, of: request, fleet, sentAt: sentAt, at: clock(), jitter: .random(in: 0..<1))
            if case let .failed(failure) = outcome {
                metrics?.fleetFailure(failure.cause)
            } else {
                heardFromServer = clock()
            }
            log(request, outcome, fleet, previousSize: previousSize)
        }
        let slots = policy.slots(fleet)
        let held = policy.holdsSlot(fleet, at: clock())
        metrics?.fleet(size: policy.fleetSize, slots: fleet.isEnabled ? slots : nil, held: held)
        guard wanted, !held else {
            overflowing = false
            return .asIs
        }
        let beforeFirstAttempt = policy.firstAttemptDue(at: clock()) != nil
        let why = FleetLimit.shortageText(policy.shortage, fleetSize: policy.fleetSize, slots: slots, fleet,
                                          beforeFirstAttempt: beforeFirstAttempt)
        // Waiting for its turn is no overflow yet: `FleetLimitReached` is for an attempt
        // that found no slot.
        if beforeFirstAttempt { return .withheld(why) }
        guard overflowing else {
            overflowing = true
            logger.warning("no fleet slot: hard taints held back", metadata: [
                "why": "\(why)", "instead": "\(fleet.overflowEffect.rawValue)",
            ])
            return .enteredOverflow(why)
        }
        return .withheld(why)
    }

    /// When the guard next needs a tick of its own (a renewal, the next attempt).
    func nextDue(_ config: Config) -> Instant? {
        config.fleet.isEnabled ? policy.nextDue(config.fleet) : nil
    }

    private func perform(_ request: SlotPolicy.Request, _ fleet: Config.Fleet) async -> SlotPolicy.Outcome {
        do throws(KubeError) {
            switch request {
            case .readFleetSize:
                let counts = try await api.daemonSetCounts(namespace: namespace, daemonSet: daemonSet)
                return .fleetSize(FleetSize.live(counts))
            case .findOwn:
                let own = try await api.leases(namespace: namespace, labelSelector: Self.slotSelector, limit: nil).lazy
                    .compactMap { lease in self.slotIndex(lease).map { ($0, lease) } }
                    .first { $0.1.spec.holderIdentity == policy.identity }
                return own.map { .own(index: $0.0, Self.record($0.1)) } ?? .noOwn
            case let .probe(index):
                let name = FleetSlots.leaseName(index, fleet: daemonSet)
                return .seen(try await api.lease(namespace: namespace, name: name).map(Self.record))
            case .findFree:
                let offered = try await api.leases(namespace: namespace, labelSelector: Self.freeSelector(fleet: daemonSet),
                                                   limit: Self.freePage)
                    .compactMap { lease in self.slotIndex(lease).map { (index: $0, record: Self.record(lease)) } }
                let slots = policy.slots(fleet) ?? 0
                return FleetSlots.offeredSlot(offered, identity: policy.identity, slots: slots)
                    .map { .offered(index: $0.index, $0.record) } ?? .noneOffered
            case let .create(index):
                return try await create(index, state: .held, holderSpec(fleet, transitions: 0))
            case let .prepare(index):
                return try await create(index, state: .free, LeaseSpec(holderIdentity: ""))
            case let .take(index, resourceVersion, transitions):
                return try await update(index, resourceVersion, state: .held, holderSpec(fleet, transitions: transitions))
            case let .renew(holding):
                return try await update(holding.index, holding.resourceVersion, state: nil, LeaseSpec(
                    holderIdentity: policy.identity, leaseDurationSeconds: Int(fleet.leaseDuration.components.seconds),
                    renewTime: MicroTime.now()))
            case let .release(holding):
                let retired = policy.slots(fleet).map { holding.index >= $0 } ?? false
                return try await update(holding.index, holding.resourceVersion, state: retired ? .retired : .free,
                                        LeaseSpec(holderIdentity: ""))
            }
        } catch where error.kind == .conflict {
            return .conflict
        } catch {
            return .failed(Self.failure(error))
        }
    }

    /// Creates slot `index` with `spec` (a holder, or none for `prepare`); 409 when it exists.
    private func create(_ index: Int, state: SlotState, _ spec: LeaseSpec) async throws(KubeError) -> SlotPolicy.Outcome {
        let labels = Self.slotLabels(fleet: daemonSet).merging([Self.stateLabel: state.rawValue]) { $1 }
        let lease = Lease(name: FleetSlots.leaseName(index, fleet: daemonSet), labels: labels, spec: spec)
        return .written(resourceVersion: dryRun ? "" : try await api.createLease(namespace: namespace, lease).resourceVersion)
    }

    /// `state`: the new `stateLabel`, nil to keep it. Every write also sets the fleet
    /// label, so a slot from before it had one gets it with its first write.
    private func update(_ index: Int, _ resourceVersion: String, state: SlotState?, _ spec: LeaseSpec)
        async throws(KubeError) -> SlotPolicy.Outcome
    {
        guard !dryRun else { return .written(resourceVersion: resourceVersion) }
        var labels = [FleetSlots.fleetLabel: daemonSet]
        if let state { labels[Self.stateLabel] = state.rawValue }
        let lease = try await api.updateLease(
            namespace: namespace, name: FleetSlots.leaseName(index, fleet: daemonSet),
            resourceVersion: resourceVersion, labels: labels, spec)
        return .written(resourceVersion: lease.resourceVersion)
    }

    /// The slot index of `lease` if it is one of this fleet's: its name and its fleet label
    /// (or none, from before the label) agree.
    private func slotIndex(_ lease: Lease) -> Int? {
        guard FleetSlots.fleet(ofLeaseLabels: lease.labels) == daemonSet else { return nil }
        return FleetSlots.index(ofLease: lease.name, fleet: daemonSet)
    }

    private func holderSpec(_ fleet: Config.Fleet, transitions: Int) -> LeaseSpec {
        let now = MicroTime.now()
        return LeaseSpec(holderIdentity: policy.identity, leaseDurationSeconds: Int(fleet.leaseDuration.components.seconds),
                         acquireTime: now, renewTime: now, leaseTransitions: transitions)
    }

    private static func record(_ lease: Lease) -> SlotRecord {
        SlotRecord(holder: lease.spec.holderIdentity ?? "", resourceVersion: lease.resourceVersion,
                   leaseDuration: lease.spec.leaseDurationSeconds.flatMap { $0 > 0 ? .seconds($0) : nil },
                   transitions: lease.spec.leaseTransitions ?? 0,
                   neverHeld: (lease.spec.holderIdentity ?? "").isEmpty && lease.spec.acquireTime == nil)
    }

    static func failure(_ error: KubeError) -> FleetFailure {
        let cause: FleetFailure.Cause = switch error.kind {
        case .forbidden: .forbidden
        case .unauthorized: .unauthorized
        case .notFound where error.resource.hasPrefix("daemonsets/"): .daemonSetNotFound
        case .transport: .unreachable
        case .serverError, .throttled: .serverError
        default: .invalidResponse
        }
        return FleetFailure(cause, error.description)
    }

    private func log(_ request: SlotPolicy.Request, _ outcome: SlotPolicy.Outcome, _ fleet: Config.Fleet,
                     previousSize: FleetSize?) {
        let would = dryRun ? "would " : ""
        switch (request, outcome) {
        case let (.readFleetSize, .fleetSize(size)) where size != previousSize:
            logger.info("fleet size", metadata: [
                "daemonSet": "\(daemonSet)", "nodes": "\(size.nodes)", "from": "\(size.origin)",
                "slots": "\(FleetSlots.count(fleetSize: size.nodes, fleet).map(String.init) ?? "off")",
            ])
        case let (.create(index), .written), let (.take(index, _, _), .written):
            logger.info("\(would)acquire fleet slot", metadata: ["lease": "\(FleetSlots.leaseName(index, fleet: daemonSet))"])
        case let (.release(holding), .written):
            logger.info("\(would)release fleet slot",
                        metadata: ["lease": "\(FleetSlots.leaseName(holding.index, fleet: daemonSet))"])
        case let (.renew(holding), .conflict):
            logger.warning("fleet slot lost: its Lease changed under this node",
                           metadata: ["lease": "\(FleetSlots.leaseName(holding.index, fleet: daemonSet))"])
        case let (_, .failed(failure)):
            logger.warning("fleet guard request failed", metadata: [
                "cause": "\(failure.cause.rawValue)", "error": "\(failure.detail)",
            ])
        default:
            break
        }
    }
}

/// Kubernetes MicroTime: RFC 3339 in UTC with six fraction digits, `2026-12-04T17:32:26.123456Z`.
enum MicroTime {
    static func now() -> String { text(Date.now) }

    static func text(_ date: Date) -> String {
        let seconds = date.timeIntervalSince1970.rounded(.down)
        let micros = Int(((date.timeIntervalSince1970 - seconds) * 1_000_000).rounded(.down))
        let whole = Date(timeIntervalSince1970: seconds).formatted(Date.ISO8601FormatStyle())
        let fraction = String(micros)
        return whole.dropLast() + "." + String(repeating: "0", count: 6 - fraction.count) + fraction + "Z"
    }
}
