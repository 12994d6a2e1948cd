import AutoTaintCore
import FoundationEssentials
import KubeClient
import Logging
import ServiceLifecycle

/// What `NodeSync` handles, in the order it arrives: from the sampling loop, and from
/// NodeSync's own watch of the Node.
public enum SyncInput: Sendable {
    /// The view after a tick, and the config it was made with.
    case tick(DesiredNodeView, Config, at: Instant)
    /// The agent is stopping; these are its conditions as last observed.
    case stopping([ConditionReport])
    /// An Event to post on the Node, e.g. a sample source switch.
    case announce(NodeEvent)
    /// A newer version of the Node, from the watch.
    case nodeChanged(Node)
}

/// Keeps the agent's own taints and conditions on its Node in step with the views the
/// sampling loop sends, as a swift-service-lifecycle `Service`.
///
/// It follows the Node through `NodeAPI.nodeUpdates` (a watch), so a steady state costs
/// no request but the condition heartbeat, and a hand-deleted own taint is put back as
/// soon as the change arrives. API failures back off (honouring `Retry-After`) while the
/// views keep coming (with `SyncPacing`, every tick's, until a write succeeds again);
/// nothing is lost, the next allowed attempt catches up. When the view stream ends (after a
/// `.stopping` input, within 5 s, it hands its taints, slot and conditions over to the pod a
/// rolling update starts in its place, or removes its taints if `shutdown.removeTaints` and
/// reports the conditions Unknown: `StopPlan`) `run` waits for the group's graceful shutdown
/// and returns.
public struct NodeSync: Service {
    private let api: any NodeAPI
    private let live: LiveConfig
    private let initialNode: Node
    private let dryRun: Bool
    private let logger: Logger
    private let inputs: AsyncStream<SyncInput>
    private let inbox: AsyncStream<SyncInput>.Continuation
    private let metrics: AgentMetrics?
    private let health: AgentHealth?
    private let pacing: SyncPacing?
    private let pod: AgentPod?
    private let afterFirstReconcile: (@Sendable () -> Void)?

    /// `inbox` is the continuation of `inputs`: the watch sends the Node's updates into the
    /// same stream as the loop's views, so the one task that handles them is woken once per
    /// input, with no task in between to merge two streams. Node updates pass their
    /// annotations to `live` (per-node threshold overrides). `health` hears each completed
    /// reconcile (for `/readyz`); `metrics` each write conflict. With `pacing`, NodeSync
    /// says after each input which ticks it needs, and reconciles a watch event against the
    /// newest view published there. With `pod`, the fleet guard's slots are Leases in its
    /// namespace and a SIGTERM may hand over; without, the guard is not wired and a stop
    /// cleans up (unit tests of the Node writes).
    /// `afterFirstReconcile` runs once, when the agent is first in step with the API server
    /// (the end of its start-up).
    public init(
        api: any NodeAPI, live: LiveConfig, initialNode: Node, dryRun: Bool, logger: Logger,
        inputs: AsyncStream<SyncInput>, inbox: AsyncStream<SyncInput>.Continuation,
        metrics: AgentMetrics? = nil, health: AgentHealth? = nil, pacing: SyncPacing? = nil,
        pod: AgentPod? = nil, afterFirstReconcile: (@Sendable () -> Void)? = nil
    ) {
        self.api = api
        self.live = live
        self.initialNode = initialNode
        self.dryRun = dryRun
        self.logger = logger
        self.inputs = inputs
        self.inbox = inbox
        self.metrics = metrics
        self.health = health
        self.pacing = pacing
        self.pod = pod
        self.afterFirstReconcile = afterFirstReconcile
    }

    /// The signals whose own taint is already on `node`: they start in pressure, so a
    /// restart adopts the taint instead of removing and re-adding it.
    public static func adoptedSignals(_ config: Config, on node: Node) -> Set<SignalKind> {
        Set(config.signals.enabled.filter { signal in
            node.taints.contains { $0.matches(config.signals[signal].taint) }
        })
    }

    public func run() async throws {
        var state = SyncState(
            api: api, config: live.current, node: initialNode, dryRun: dryRun, logger: logger,
            metrics: metrics, health: health, pod: pod,
            afterFirstReconcile: afterFirstReconcile)
        await withDiscardingTaskGroup { group in
            group.addTask { [api, initialNode, inbox] in
                for await node in api.nodeUpdates(initialNode.name) { inbox.yield(.nodeChanged(node)) }
            }
            // Not cancelled on graceful shutdown: the sampling loop ends the inputs, after
            // its last tick and its `.stopping`, and every one of them is handled.
            for await input in inputs {
                switch input {
                case let .nodeChanged(node):
                    for problem in live.updateAnnotations(node.annotations) ?? [] {
                        logger.warning("node annotation ignored", metadata: ["problem": "\(problem)"])
                    }
                    await state.observed(node, newest: pacing?.newest)
                case let .tick(view, config, at): await state.tick(view, config, at: at)
                case let .stopping(reports): await state.stop(reports)
                case let .announce(event): await state.post(event)
                }
                if let pacing, let latest = state.latest {
                    pacing.promise(quietUntil: state.quietUntil, for: latest.view, state.config)
                }
            }
            group.cancelAll()
        }
        // Return only when the group asks: the sampling loop ending first is the normal
        // order, and a service that finishes before it is told to counts as a failure.
        try? await gracefulShutdown()
    }
}

/// NodeSync's state, owned by its one task.
struct SyncState {
    private let api: any NodeAPI
    private(set) var config: Config
    private let dryRun: Bool
    private let logger: Logger
    private var node: Node
    /// Set after a failure: the cached Node may be out of date (a 504 may even have
    /// applied the write), so it is read again before the next attempt.
    private var nodeStale = false
    private(set) var latest: (view: DesiredNodeView, at: Instant)?
    private var taints: TaintReconciler
    private var status: StatusReporter
    private var retry: WriteRetry
    /// Every taint key a config of this run has named: a key dropped by a reload is still
    /// the agent's to clean up.
    private var ownKeys: Set<String>
    private let health: AgentHealth?
    private let metrics: AgentMetrics?
    private(set) var fleet: FleetGate?
    private let pod: AgentPod?
    /// Cleared once it has run.
    private var afterFirstReconcile: (@Sendable () -> Void)?

    init(api: any NodeAPI, config: Config, node: Node, dryRun: Bool, logger: Logger,
         metrics: AgentMetrics? = nil, health: AgentHealth? = nil,
         pod: AgentPod? = nil,
         afterFirstReconcile: (@Sendable () -> Void)? = nil,
         clock: @escaping @Sendable () -> Instant = { ContinuousClock.now },
         pause: @escaping @Sendable (Duration) async -> Void = { try? await Task.sleep(for: $0) }) {
        self.api = api
        self.afterFirstReconcile = afterFirstReconcile
        self.health = health
        self.metrics = metrics
        self.config = config
        self.dryRun = dryRun
        self.logger = logger
        self.node = node
        retry = WriteRetry(logger: logger)
        ownKeys = Self.taintKeys(config)
        let present = config.signals.enabled.map { config.signals[$0].taint }
            .filter { spec in node.taints.contains { $0.matches(spec) } }
        taints = TaintReconciler(api: api, nodeName: node.name, dryRun: dryRun, confirmed: present)
        if let metrics { taints.onConflict = { metrics.apiConflict() } }
        status = StatusReporter(api: api, nodeName: node.name, dryRun: dryRun)
        self.pod = pod
        fleet = pod.map { pod in
            FleetGate(api: pod.api, namespace: pod.namespace, daemonSet: config.fleet.daemonSet, identity: node.name,
                      adopting: present.contains { $0.effect.isHard }, dryRun: dryRun, logger: logger, metrics: metrics,
                      clock: clock, pause: pause)
        }
        let handedOver = node.conditions.lazy.compactMap { condition in
            StopPlan.handedOverFleetSize(reason: condition.reason ?? "", message: condition.message ?? "")
        }.first
        if let handedOver { fleet?.assume(.handedOver(handedOver)) }
    }

    /// A newer Node from the watch, reconciled against `newest`, the newest view the loop
    /// made (with its config), when it is newer than the last tick's.
    mutating func observed(_ update: Node, newest: (view: DesiredNodeView, config: Config, at: Instant)? = nil) async {
        node = update
        nodeStale = false
        retry.serverAnswered(at: ContinuousClock.now)
        if let newest, latest.map({ newest.at > $0.at }) ?? true {
            adopt(newest.config)
            latest = (newest.view, newest.at)
        }
        guard let latest else { return }
        await reconcile(latest.view, at: ContinuousClock.now)
    }

    /// Until when no tick is needed while the view keeps its outline: the next condition
    /// heartbeat, when the last reconcile left nothing pending; nil, every tick is.
    var quietUntil: Instant? {
        guard let latest, !nodeStale, retry.schedule.isClear, taints.isSettled,
              let heartbeat = status.ledger.nextHeartbeat(of: latest.view.conditions, heartbeat: config.heartbeat)
        else { return nil }
        return min(heartbeat, fleet?.nextDue(config) ?? heartbeat)
    }

    static func taintKeys(_ config: Config) -> Set<String> {
        Set(SignalKind.allCases.map { config.signals[$0].taint.key })
    }

    mutating func tick(_ view: DesiredNodeView, _ config: Config, at now: Instant) async {
        adopt(config)
        latest = (view, now)
        await reconcile(view, at: now)
    }

    private mutating func adopt(_ config: Config) {
        guard config != self.config else { return }
        self.config = config
        ownKeys.formUnion(Self.taintKeys(config))
    }

    /// Shutdown: the DaemonSet read once (1 s at most) to choose between handing over and
    /// cleaning up, then one attempt at each write, 3 s at most, so the pod's grace period
    /// (and product.md's 5 s) holds even when the API server hangs.
    mutating func stop(_ reports: [ConditionReport]) async {
        // The DaemonSet the agent started with: a reload of fleet.daemonSet applies at restart.
        let plan = await pod?.stopPlan(daemonSet: fleet?.daemonSet ?? config.fleet.daemonSet, within: .seconds(1))
            ?? .cleanUp("no API to read the DaemonSet from")
        switch plan {
        case let .handOver(why, _): logger.info("handing over to the next pod", metadata: ["why": "\(why)"])
        case let .cleanUp(why): logger.info("cleaning up", metadata: ["why": "\(why)"])
        }
        let outcome = await withDeadline(.milliseconds(3_000)) { [self] in
            var copy = self
            await copy.write(wanted: plan.wantedTaints(removeTaints: config.shutdown.removeTaints),
                             reports: plan.conditions(reports), at: ContinuousClock.now, force: true,
                             because: "autotaint is stopping on this node", .normal)
            // Handed over, the slot is the successor's. Without removeTaints the hard taint
            // stays, and so does the slot until it expires.
            if !plan.handsOver {
                await copy.releaseUnneededSlot(DesiredNodeView(ownTaints: [], conditions: []), at: ContinuousClock.now)
            }
            return copy
        }
        if let outcome { self = outcome } else { logger.error("shutdown writes did not finish within 3s") }
    }

    /// The view through the fleet guard, then written. A node that lost its slot while its
    /// Node still carries a hard own taint retries on the shedding schedule (capped at a few
    /// seconds): the excess over K must end soon after it reconnects. A slot no longer
    /// needed is released once the Node is written without hard own taints.
    private mutating func reconcile(_ view: DesiredNodeView, at now: Instant) async {
        var gated = view
        if var gate = fleet {
            let verdict = await gate.step(view, mayRelease: carriesNoHardOwnTaint, config, at: now)
            if let heard = gate.heardFromServer { retry.serverAnswered(at: heard) }
            switch verdict {
            case .asIs:
                break
            case let .withheld(why):
                gated = FleetLimit.withheld(view, why: why, config)
            case let .enteredOverflow(why):
                gated = FleetLimit.withheld(view, why: why, config)
                if let held = gated.conditions.first(where: \.heldBack) {
                    await post(NodeEvent(reason: "FleetLimitReached", message: held.message, kind: .warning))
                }
            }
            fleet = gate
            for signal in config.signals.enabled {
                let condition = config.signals[signal].condition
                metrics?.fleetOverflow(signal, gated.conditions.contains { $0.type == condition && $0.heldBack })
            }
        }
        // The Node as last seen, stale or not: what it may still carry is what counts.
        let mustShed = node.taints.contains { taint in
            isHardOwn(taint) && !gated.ownTaints.contains { taint.matches($0) }
        }
        // Shedding: a hard own taint the guard withholds, or one left from a slot this node no
        // longer holds (it left pressure while cut off): either way, a node over K.
        let slotless = config.fleet.isEnabled && fleet.map { !$0.policy.holdsSlot(config.fleet, at: now) } == true
        let urgency: WriteSchedule.Urgency = mustShed && (gated != view || slotless) ? .shedding : .normal
        guard retry.allows(urgency, at: now) else { return }
        await write(wanted: gated.ownTaints, reports: gated.conditions, at: now, force: false, because: nil, urgency)
        // The view as the signals made it: the gated one has its hard taints softened, and
        // would read as wanting no slot.
        await releaseUnneededSlot(view, at: now)
    }

    /// Releases a held slot that `view` does not need, or a lost one that may still name this
    /// node, once the Node carries no hard own taint.
    private mutating func releaseUnneededSlot(_ view: DesiredNodeView, at now: Instant) async {
        guard var gate = fleet, carriesNoHardOwnTaint, gate.policy.hasSlotToRelease else { return }
        _ = await gate.step(view, mayRelease: true, config, at: now)
        fleet = gate
    }

    private func isHardOwn(_ taint: Taint) -> Bool {
        ownKeys.contains(taint.key) && TaintEffect(rawValue: taint.effect)?.isHard == true
    }

    /// The cached Node is current and has no hard taint of this agent's keys.
    private var carriesNoHardOwnTaint: Bool {
        !nodeStale && !node.taints.contains(where: isHardOwn)
    }

    /// `wanted` nil leaves the taints alone. `because` overrides the per-signal reason in
    /// event messages; `urgency` says which wait a failure's log line quotes.
    private mutating func write(
        wanted: [TaintSpec]?, reports: [ConditionReport], at now: Instant, force: Bool, because: String?,
        _ urgency: WriteSchedule.Urgency
    ) async {
        let began = ContinuousClock.now
        do {
            if nodeStale {
                node = try await api.getNode(node.name)
                nodeStale = false
            }
            if let wanted {
                let (written, changes) = try await taints.reconcile(node, wanted: wanted, ownKeys: ownKeys)
                node = written
                if !changes.isEmpty { await announce(changes, reports: reports, because: because) }
            }
            let (reported, conditions) = try await status.report(
                reports, on: node, at: now, heartbeat: config.heartbeat,
                wallTime: Date.now.formatted(Date.ISO8601FormatStyle()), force: force)
            node = reported
            for condition in conditions {
                logger.info(dryRun ? "would report condition" : "reported condition", metadata: [
                    "type": "\(condition.type)", "status": "\(condition.status.rawValue)",
                    "reason": "\(condition.reason)", "message": "\(condition.message)",
                ])
            }
            retry.succeeded(at: now + (ContinuousClock.now - began))
            health?.reconciled()
            if let firstTime = afterFirstReconcile {
                afterFirstReconcile = nil
                firstTime()
            }
        } catch {
            nodeStale = true
            // Waits count from the failed answer, not from the tick: a `Retry-After: 2` after
            // a request that took a second is still two seconds of quiet for the server.
            retry.failed(error, urgency, at: now + (ContinuousClock.now - began))
        }
    }

    /// Posts `event` on the Node, best effort: an Event that cannot be posted is logged,
    /// never retried (the log line has the same content).
    func post(_ event: NodeEvent) async {
        guard !dryRun else { return }
        do {
            try await api.postEvent(event, about: node)
        } catch {
            logger.warning("could not post event", metadata: ["reason": "\(event.reason)", "error": "\(error)"])
        }
    }

    /// Logs each change and posts it as an Event on the Node.
    /// A PreferNoSchedule own taint replaced by the hard one of the same key is one change:
    /// the node got a fleet slot.
    private func announce(_ changes: TaintChanges, reports: [ConditionReport], because: String?) async {
        let softened = { (taint: Taint) in taint.effect == TaintEffect.preferNoSchedule.rawValue }
        let hardened = changes.added.filter { spec in
            spec.effect.isHard && changes.removed.contains { $0.key == spec.key && $0.value == spec.value && softened($0) }
        }
        let events = changes.added.map { hardened.contains($0) ? TaintEvent.hardened($0) : .added($0) }
            + changes.restored.map(TaintEvent.restored)
            + changes.removed.filter { taint in !(softened(taint) && hardened.contains { $0.key == taint.key }) }
            .map(TaintEvent.removed)
        for event in events {
            logger.info("\(event.logMessage(dryRun: dryRun))", metadata: ["taint": "\(event.taintText)"])
            await post(event.nodeEvent(why: because ?? explanation(forKey: event.key, reports: reports)))
        }
    }

    /// The condition message of the signal owning `key`, which says value, threshold
    /// and source; for a key no enabled signal has, why the agent removes it.
    private func explanation(forKey key: String, reports: [ConditionReport]) -> String {
        guard let signal = config.signals.enabled.first(where: { config.signals[$0].taint.key == key }),
              let report = reports.first(where: { $0.type == config.signals[signal].condition })
        else { return "the agent owns the key \(key) and no enabled signal wants this taint" }
        return report.message
    }
}

/// A change of an own taint, as logged and as posted in an Event; `withheld` is one that a
/// report-only signal (`enforce: false`) would have made.
enum TaintEvent {
    case added(TaintSpec)
    /// Added in place of its PreferNoSchedule form, now that the node holds a fleet slot.
    case hardened(TaintSpec)
    case restored(TaintSpec)
    case removed(Taint)
    case withheld(TaintSpec, wanted: Bool)

    var key: String {
        switch self {
        case let .added(spec), let .hardened(spec), let .restored(spec), let .withheld(spec, _): spec.key
        case let .removed(taint): taint.key
        }
    }

    var taintText: String {
        switch self {
        case let .added(spec), let .hardened(spec), let .restored(spec), let .withheld(spec, _): spec.text
        case let .removed(taint): taint.text
        }
    }

    var reason: String {
        switch self {
        case .added, .hardened: "TaintAdded"
        case .restored: "TaintRestored"
        case .removed: "TaintRemoved"
        case .withheld: "TaintWithheld"
        }
    }

    func logMessage(dryRun: Bool) -> String {
        switch self {
        case .added: dryRun ? "would add taint" : "added taint"
        case .hardened: dryRun ? "would harden taint (fleet slot)" : "hardened taint (fleet slot)"
        case .restored: dryRun ? "would restore taint" : "restored taint"
        case .removed: dryRun ? "would remove taint" : "removed taint"
        case let .withheld(_, wanted): wanted ? "taint withheld (enforce: false)" : "withheld taint no longer wanted"
        }
    }

    /// `why` says the value, the threshold and the source (the signal's condition message).
    func nodeEvent(why: String) -> NodeEvent {
        switch self {
        case .added: NodeEvent(reason: reason, message: "Added taint \(taintText): \(why)")
        case .hardened:
            NodeEvent(reason: reason, message: "Hardened taint \(taintText) (was PreferNoSchedule), a fleet slot is held: \(why)")
        case .restored:
            NodeEvent(reason: reason, message: "Restored taint \(taintText), removed by someone else while in pressure: \(why)",
                      kind: .warning)
        case .removed: NodeEvent(reason: reason, message: "Removed taint \(taintText): \(why)")
        case let .withheld(_, wanted):
            NodeEvent(reason: reason, message: "Would \(wanted ? "add" : "remove") taint \(taintText): \(why)")
        }
    }
}
