import Testing
@testable import AutoTaintCore

/// One exchange of the state machine: at second `at`, with `wanted`/`mayRelease`, the policy
/// asks for `request` (nil: none), and gets `outcome`.
struct SlotStep: Sendable {
    let at: Int
    let wanted: Bool
    let mayRelease: Bool
    let request: SlotPolicy.Request?
    let outcome: SlotPolicy.Outcome?

    static func ask(_ at: Int, _ request: SlotPolicy.Request?, _ outcome: SlotPolicy.Outcome? = nil,
                    wanted: Bool = true, mayRelease: Bool = false) -> SlotStep {
        SlotStep(at: at, wanted: wanted, mayRelease: mayRelease, request: request, outcome: outcome)
    }
}

struct SlotCase: Sendable, CustomTestStringConvertible {
    let name: String
    var adopting = false
    let steps: [SlotStep]
    /// Whether the node may carry hard taints after the last step.
    let holds: Bool
    var testDescription: String { name }
}

private let me = "node-a"

extension SlotPolicy.Outcome {
    /// N = `nodes`, every agent ready.
    static func fleetSize(_ nodes: Int) -> Self {
        .fleetSize(FleetSize(nodes: nodes, source: .ready, scheduled: nodes, ready: nodes))
    }
}
private func held(_ holder: String, _ rv: String, transitions: Int = 0) -> SlotPolicy.Outcome {
    .seen(SlotRecord(holder: holder, resourceVersion: rv, leaseDuration: .seconds(30), transitions: transitions))
}
/// Slots are K = 3 of N = 10 at 30 %; this node's first slot.
private let first = FleetSlots.firstSlot(for: me, slots: 3)
private let second = (first + 1) % 3
private let t0 = ContinuousClock.now
private func holding(_ index: Int, _ rv: String, transitions: Int = 0, renewedAt: Int) -> SlotPolicy.Holding {
    SlotPolicy.Holding(index: index, resourceVersion: rv, transitions: transitions, renewedAt: t0 + .seconds(renewedAt))
}

@Suite("SlotPolicy: acquire, hold, release, overflow as a table")
struct SlotPolicyTests {
    static let fleet: Config.Fleet = {
        var fleet = Config.Fleet()
        fleet.leaseDuration = .seconds(30)
        return fleet
    }()

    static let cases: [SlotCase] = [
        SlotCase(name: "not in pressure: no request at all", steps: [
            .ask(0, nil, wanted: false), .ask(60, nil, wanted: false),
        ], holds: false),
        SlotCase(name: "a slot to take: N over a minute old is read first", steps: [
            .ask(0, .readFleetSize, .fleetSize(10)),
            .ask(0, .probe(first), held("node-b", "1")),
            .ask(0, .findFree, .noneOffered),
            .ask(0, nil),
            .ask(10, nil, wanted: false),
            // Slots exist (it saw one): a free one is asked for first.
            .ask(100, .findFree, .noneOffered),
            .ask(100, .probe(first), .seen(nil)),
            .ask(100, .readFleetSize, .fleetSize(10)),
            .ask(100, .create(first), .written(resourceVersion: "5")),
            .ask(100, .prepare((first + 1) % 3), .conflict),
        ], holds: true),
        SlotCase(name: "a first attempt that finds every slot held reads no N, however old", steps: [
            .ask(0, .readFleetSize, .fleetSize(10)),
            .ask(0, .probe(first), held("node-b", "1")),
            .ask(0, .findFree, .noneOffered),
            .ask(0, nil),
            .ask(10, nil, wanted: false),
            .ask(200, .findFree, .noneOffered),
            .ask(200, .probe(first), held("node-b", "2")),
            .ask(200, nil),
        ], holds: false),
        SlotCase(name: "a later attempt refreshes an N over a minute old: a K that grew offers more slots", steps: [
            .ask(0, .readFleetSize, .fleetSize(10)),
            .ask(0, .probe(first), held("node-b", "1")),
            .ask(0, .findFree, .noneOffered),
            .ask(0, nil),
            .ask(100, .readFleetSize, .fleetSize(20)),
            .ask(100, .probe(first), held("node-b", "2")),
            .ask(100, .findFree, .offered(index: 4, SlotRecord(holder: "", resourceVersion: "7"))),
            .ask(100, .take(index: 4, resourceVersion: "7", transitions: 0), .written(resourceVersion: "8")),
        ], holds: true),
        SlotCase(name: "N read before the write shrank K below the slot found: starts over within the new K", steps: [
            .ask(0, .readFleetSize, .fleetSize(10)),
            .ask(0, .probe(first), held("node-b", "1")),
            .ask(0, .findFree, .noneOffered),
            .ask(0, nil),
            .ask(10, nil, wanted: false),
            .ask(100, .findFree, .offered(index: 2, SlotRecord(holder: "", resourceVersion: "3"))),
            .ask(100, .readFleetSize, .fleetSize(4)),
            .ask(100, .probe(0), .seen(nil)),
            .ask(100, .create(0), .written(resourceVersion: "5")),
        ], holds: true),
        SlotCase(name: "re-entering where slots exist: a free one asked for first, taken in two requests", steps: [
            .ask(0, .readFleetSize, .fleetSize(10)),
            .ask(0, .probe(first), held("node-b", "1")),
            .ask(0, .findFree, .noneOffered),
            .ask(0, nil),
            .ask(10, nil, wanted: false),
            .ask(30, .findFree, .offered(index: 1, SlotRecord(holder: "", resourceVersion: "3"))),
            .ask(30, .take(index: 1, resourceVersion: "3", transitions: 0), .written(resourceVersion: "4")),
            // A released slot: its successor exists already, nothing to prepare.
            .ask(30, nil),
        ], holds: true),
        SlotCase(name: "a prepared slot taken: the next one is prepared too", steps: [
            .ask(0, .readFleetSize, .fleetSize(10)),
            .ask(0, .probe(first), held("node-b", "1")),
            .ask(0, .findFree, .offered(index: 1, SlotRecord(holder: "", resourceVersion: "3", neverHeld: true))),
            .ask(0, .take(index: 1, resourceVersion: "3", transitions: 0), .written(resourceVersion: "4")),
            .ask(0, .prepare(2), .written(resourceVersion: "5")),
            .ask(0, nil),
        ], holds: true),
        SlotCase(name: "absent slot: created", steps: [
            .ask(0, .readFleetSize, .fleetSize(10)),
            .ask(0, .probe(first), .seen(nil)),
            .ask(0, .create(first), .written(resourceVersion: "5")),
            .ask(0, .prepare((first + 1) % 3), .conflict),
            .ask(0, nil),
        ], holds: true),
        SlotCase(name: "free slot: taken with its resourceVersion, no transition counted", steps: [
            .ask(0, .readFleetSize, .fleetSize(10)),
            .ask(0, .probe(first), held("", "7", transitions: 4)),
            .ask(0, .take(index: first, resourceVersion: "7", transitions: 4), .written(resourceVersion: "8")),
        ], holds: true),
        SlotCase(name: "create lost to another node (409): the next slot at once", steps: [
            .ask(0, .readFleetSize, .fleetSize(10)),
            .ask(0, .probe(first), .seen(nil)),
            .ask(0, .create(first), .conflict),
            .ask(0, .probe(second), held("", "3")),
            .ask(0, .take(index: second, resourceVersion: "3", transitions: 0), .written(resourceVersion: "4")),
        ], holds: true),
        SlotCase(name: "every slot lost in one attempt: backs off", steps: [
            .ask(0, .readFleetSize, .fleetSize(10)),
            .ask(0, .probe(first), .seen(nil)),
            .ask(0, .create(first), .conflict),
            .ask(0, .probe(second), .seen(nil)),
            .ask(0, .create(second), .conflict),
            .ask(0, nil),
        ], holds: false),
        SlotCase(name: "held by a live node: asks for a free slot, probes again after a third of the lease, moves on when it changed", steps: [
            .ask(0, .readFleetSize, .fleetSize(10)),
            .ask(0, .probe(first), held("node-b", "10")),
            .ask(0, .findFree, .noneOffered),
            .ask(0, nil),
            .ask(5, .findFree, .noneOffered),
            .ask(5, nil),
            .ask(10, .probe(first), held("node-b", "11")),
            .ask(10, .findFree, .noneOffered),
            .ask(10, nil),
            .ask(20, .probe(second), held("node-c", "20")),
        ], holds: false),
        SlotCase(name: "a slot freed elsewhere: offered by the LIST, taken with its resourceVersion", steps: [
            .ask(0, .readFleetSize, .fleetSize(10)),
            .ask(0, .probe(first), held("node-b", "10")),
            .ask(0, .findFree, .offered(index: second, SlotRecord(holder: "", resourceVersion: "31", transitions: 2))),
            .ask(0, .take(index: second, resourceVersion: "31", transitions: 2), .written(resourceVersion: "32")),
            .ask(0, nil),
        ], holds: true),
        SlotCase(name: "an offered slot lost (409): the attempt's budget is spent, it backs off", steps: [
            .ask(0, .readFleetSize, .fleetSize(10)),
            .ask(0, .probe(first), held("node-b", "10")),
            .ask(0, .findFree, .offered(index: second, SlotRecord(holder: "", resourceVersion: "31"))),
            .ask(0, .take(index: second, resourceVersion: "31", transitions: 0), .conflict),
            .ask(0, nil),
            .ask(1, .probe((second + 1) % 3), held("node-c", "40")),
        ], holds: false),
        SlotCase(name: "expired by observed time: unchanged for leaseDuration, taken, transition counted", steps: [
            .ask(0, .readFleetSize, .fleetSize(10)),
            .ask(0, .probe(first), held("node-b", "10", transitions: 2)),
            .ask(0, .findFree, .noneOffered),
            .ask(5, .findFree, .noneOffered),
            .ask(12, .probe(first), held("node-b", "10", transitions: 2)),
            .ask(12, .findFree, .noneOffered),
            .ask(20, .findFree, .noneOffered),
            .ask(29, .findFree, .noneOffered),
            .ask(29, nil),
            .ask(35, .probe(first), held("node-b", "10", transitions: 2)),
            .ask(35, .take(index: first, resourceVersion: "10", transitions: 3), .written(resourceVersion: "12")),
        ], holds: true),
        SlotCase(name: "take-over lost (409): no slot, next slot next", steps: [
            .ask(0, .readFleetSize, .fleetSize(10)),
            .ask(0, .probe(first), held("node-b", "10")),
            .ask(0, .findFree, .noneOffered),
            .ask(31, .probe(first), held("node-b", "10")),
            .ask(31, .take(index: first, resourceVersion: "10", transitions: 1), .conflict),
            .ask(31, .probe(second), held("node-c", "20")),
            .ask(31, nil),
        ], holds: false),
        SlotCase(name: "holder renews every leaseDuration/3 and never otherwise", steps: [
            .ask(0, .readFleetSize, .fleetSize(10)),
            .ask(0, .probe(first), .seen(nil)),
            .ask(0, .create(first), .written(resourceVersion: "5")),
            .ask(0, .prepare((first + 1) % 3), .conflict),
            .ask(9, nil),
            .ask(10, .renew(holding(first, "5", renewedAt: 0)), .written(resourceVersion: "6")),
            .ask(19, nil),
            .ask(20, .renew(holding(first, "6", renewedAt: 10)), .written(resourceVersion: "7")),
        ], holds: true),
        SlotCase(name: "renewal conflict: slot lost, its own slot probed again at once", steps: [
            .ask(0, .readFleetSize, .fleetSize(10)),
            .ask(0, .probe(first), .seen(nil)),
            .ask(0, .create(first), .written(resourceVersion: "5")),
            .ask(0, .prepare((first + 1) % 3), .conflict),
            .ask(10, .renew(holding(first, "5", renewedAt: 0)), .conflict),
            .ask(10, .probe(first), held("node-b", "9")),
            .ask(10, .findFree, .noneOffered),
            .ask(10, nil),
        ], holds: false),
        SlotCase(name: "renewals failing for 2/3 of leaseDuration: gives the slot up before anyone may take it", steps: [
            .ask(0, .readFleetSize, .fleetSize(10)),
            .ask(0, .probe(first), .seen(nil)),
            .ask(0, .create(first), .written(resourceVersion: "5")),
            .ask(0, .prepare((first + 1) % 3), .conflict),
            .ask(10, .renew(holding(first, "5", renewedAt: 0)), .failed(FleetFailure(.unreachable, "refused"))),
            .ask(10, nil),
            .ask(19, .renew(holding(first, "5", renewedAt: 0)), .failed(FleetFailure(.unreachable, "refused"))),
            .ask(20, .probe(first), .failed(FleetFailure(.unreachable, "refused"))),
        ], holds: false),
        SlotCase(name: "back after the outage: its own record still names it, taken back", steps: [
            .ask(0, .readFleetSize, .fleetSize(10)),
            .ask(0, .probe(first), .seen(nil)),
            .ask(0, .create(first), .written(resourceVersion: "5")),
            .ask(0, .prepare((first + 1) % 3), .conflict),
            .ask(20, .probe(first), held(me, "5")),
            .ask(20, .take(index: first, resourceVersion: "5", transitions: 0), .written(resourceVersion: "6")),
        ], holds: true),
        SlotCase(name: "leaving pressure: renews until the Node is written, then releases", steps: [
            .ask(0, .readFleetSize, .fleetSize(10)),
            .ask(0, .probe(first), .seen(nil)),
            .ask(0, .create(first), .written(resourceVersion: "5")),
            .ask(0, .prepare((first + 1) % 3), .conflict),
            .ask(10, .renew(holding(first, "5", renewedAt: 0)), .written(resourceVersion: "6"), wanted: false),
            .ask(11, .release(holding(first, "6", renewedAt: 10)), .written(resourceVersion: "7"), wanted: false, mayRelease: true),
            .ask(12, nil, wanted: false, mayRelease: true),
        ], holds: false),
        SlotCase(name: "fleet size forbidden: no slot, backs off", steps: [
            .ask(0, .readFleetSize, .failed(FleetFailure(.forbidden, "GET daemonsets/autotaint: forbidden"))),
            .ask(0, nil),
            .ask(2, .readFleetSize, .failed(FleetFailure(.forbidden, "GET daemonsets/autotaint: forbidden"))),
        ], holds: false),
        SlotCase(name: "leases forbidden: no slot", steps: [
            .ask(0, .readFleetSize, .fleetSize(10)),
            .ask(0, .probe(first), .failed(FleetFailure(.forbidden, "GET leases/x: forbidden"))),
            .ask(0, nil),
        ], holds: false),
        SlotCase(name: "restart with a hard taint: finds its own slot first", adopting: true, steps: [
            .ask(0, .readFleetSize, .fleetSize(10)),
            .ask(0, .findOwn, .own(index: 2, SlotRecord(holder: me, resourceVersion: "40", transitions: 1))),
            .ask(0, .take(index: 2, resourceVersion: "40", transitions: 1), .written(resourceVersion: "41")),
        ], holds: true),
        SlotCase(name: "restart with a hard taint and no slot of its own: probes", adopting: true, steps: [
            .ask(0, .readFleetSize, .fleetSize(10)),
            .ask(0, .findOwn, .noOwn),
            .ask(0, .probe(first), held("node-b", "1")),
            .ask(0, .findFree, .noneOffered),
            .ask(0, nil),
        ], holds: false),
    ]

    @Test(arguments: cases)
    func table(_ slotCase: SlotCase) {
        var policy = SlotPolicy(identity: me, adopting: slotCase.adopting)
        for (number, step) in slotCase.steps.enumerated() {
            let now = t0 + .seconds(step.at)
            let request = policy.next(wanted: step.wanted, mayRelease: step.mayRelease, Self.fleet, at: now, onset: 0)
            #expect(request == step.request, "step \(number + 1) at \(step.at)s")
            if let request, let outcome = step.outcome {
                policy.record(outcome, of: request, Self.fleet, sentAt: now, at: now, jitter: 1)
            }
        }
        let end = t0 + .seconds(slotCase.steps.last?.at ?? 0)
        #expect(policy.holdsSlot(Self.fleet, at: end) == slotCase.holds)
    }

    @Test func shortageNamesTheCause() {
        var policy = SlotPolicy(identity: me, adopting: false)
        _ = policy.next(wanted: true, mayRelease: false, Self.fleet, at: t0, onset: 0)
        let forbidden = FleetFailure(.forbidden, "GET daemonsets/autotaint: forbidden")
        policy.record(.failed(forbidden), of: .readFleetSize, Self.fleet, sentAt: t0, at: t0, jitter: 0)
        #expect(policy.shortage == .failed(forbidden))
        #expect(policy.phase == .waiting)
        #expect(policy.nextDue(Self.fleet) == t0 + .milliseconds(500))
        // Leaving pressure forgets it all.
        #expect(policy.next(wanted: false, mayRelease: true, Self.fleet, at: t0, onset: 0) == nil)
        #expect(policy.phase == .idle && policy.shortage == nil && policy.nextDue(Self.fleet) == nil)
    }

    /// A waiting node that found every slot held waits the cap N gives at once, spread by
    /// the jitter over its second half: slots come free only as holders leave pressure, and
    /// the short backoff would have every waiting node of a spike retry within its first
    /// minute.
    @Test(arguments: [(1.0, 1.0), (0.0, 0.5)])
    func everySlotHeldWaitsTheCapOfTheFleet(jitter: Double, shareOfCap: Double) {
        var policy = SlotPolicy(identity: me, adopting: false)
        var now = t0
        var waits: [Duration] = []
        for _ in 0..<12 {
            var version = 0
            while let request = policy.next(wanted: true, mayRelease: false, Self.fleet, at: now, onset: 0) {
                version += 1
                // A live holder: its record changes between any two looks; no slot is free.
                let outcome: SlotPolicy.Outcome = switch request {
                case .readFleetSize: .fleetSize(100)
                case .findFree: .noneOffered
                default: held("node-b", "\(now)\(version)")
                }
                policy.record(outcome, of: request, Self.fleet, sentAt: now, at: now, jitter: jitter)
            }
            let due = policy.nextDue(Self.fleet)!
            waits.append(due - now)
            now = due
        }
        #expect(waits.allSatisfy { $0 == FleetSlots.retryCap(fleetSize: 100) * shareOfCap }, "\(waits)")
    }

    /// An attempt cut short by 409s (another node won each slot it tried) backs off from
    /// 1 s: free slots may well be left.
    @Test func attemptEndedByConflictsRetriesSoon() {
        var policy = SlotPolicy(identity: me, adopting: false)
        var requests: [SlotPolicy.Request] = []
        while let request = policy.next(wanted: true, mayRelease: false, Self.fleet, at: t0, onset: 0) {
            requests.append(request)
            let outcome: SlotPolicy.Outcome = switch request {
            case .readFleetSize: .fleetSize(100)
            case .probe: .seen(nil)
            default: .conflict
            }
            policy.record(outcome, of: request, Self.fleet, sentAt: t0, at: t0, jitter: 1)
        }
        #expect(requests.filter { if case .create = $0 { true } else { false } }.count == 2)
        #expect(policy.shortage == .limitReached)
        #expect(policy.nextDue(Self.fleet) == t0 + .seconds(1))
    }

    /// Entering pressure, the first attempt waits `onset` × the onset window (N × 50 ms),
    /// and nothing goes out before it. N never read: it is read at once, and the wait
    /// counts from the entry. A node still looking for its own slot at start (adopting)
    /// does not wait.
    @Test func theFirstAttemptWaitsItsShareOfTheOnsetWindow() {
        var policy = SlotPolicy(identity: me, adopting: false)
        #expect(policy.next(wanted: true, mayRelease: false, Self.fleet, at: t0, onset: 0.37) == .readFleetSize)
        let read = t0 + .milliseconds(20)
        policy.record(.fleetSize(200), of: .readFleetSize, Self.fleet, sentAt: t0, at: read, jitter: 0)
        #expect(policy.firstAttemptDue(at: read) == t0 + .milliseconds(3700))
        #expect(policy.next(wanted: true, mayRelease: false, Self.fleet, at: read, onset: 0.99) == nil)
        #expect(policy.nextDue(Self.fleet) == t0 + .milliseconds(3700))
        // A later tick does not move it.
        #expect(policy.next(wanted: true, mayRelease: false, Self.fleet, at: t0 + .seconds(3), onset: 0.99) == nil)
        #expect(policy.next(wanted: true, mayRelease: false, Self.fleet, at: t0 + .milliseconds(3700), onset: 0.99)
            == .probe(FleetSlots.firstSlot(for: me, slots: 60)))

        // Out of pressure and in again: N known now, its share of the window from the entry.
        policy.record(.seen(nil), of: .probe(FleetSlots.firstSlot(for: me, slots: 60)), Self.fleet,
                      sentAt: t0 + .seconds(4), at: t0 + .seconds(4), jitter: 0)
        #expect(policy.next(wanted: false, mayRelease: true, Self.fleet, at: t0 + .seconds(5), onset: 0) == nil)
        let again = t0 + .seconds(30)
        #expect(policy.next(wanted: true, mayRelease: false, Self.fleet, at: again, onset: 0.5) == nil)
        #expect(policy.firstAttemptDue(at: again) == again + .seconds(5))

        var adopting = SlotPolicy(identity: me, adopting: true)
        #expect(adopting.next(wanted: true, mayRelease: false, Self.fleet, at: t0, onset: 0.99) == .readFleetSize)
        adopting.record(.fleetSize(200), of: .readFleetSize, Self.fleet, sentAt: t0, at: t0, jitter: 0)
        #expect(adopting.next(wanted: true, mayRelease: false, Self.fleet, at: t0, onset: 0.99) == .findOwn)
    }

    /// 2,000 nodes of a fleet of 2,000 enter pressure in the same second, each with its own
    /// `onset` spread over 0..<1 (a Weyl sequence, as even as uniform draws are on average):
    /// their first requests spread over the 100 s window, about 20 a second, where all
    /// 2,000 went out in that second before.
    @Test func nodesEnteringPressureTogetherSpreadTheirFirstRequests() {
        var perSecond = [Int](repeating: 0, count: 100)
        for node in 0..<2000 {
            var policy = SlotPolicy(identity: "node-\(node)", adopting: false)
            let onset = (Double(node) * 0.618_033_988_749_895).truncatingRemainder(dividingBy: 1)
            #expect(policy.next(wanted: true, mayRelease: false, Self.fleet, at: t0, onset: onset) == .readFleetSize)
            policy.record(.fleetSize(2000), of: .readFleetSize, Self.fleet, sentAt: t0, at: t0, jitter: 0)
            let first = (policy.firstAttemptDue(at: t0) ?? t0) - t0
            #expect(first >= .zero && first < .seconds(100))
            perSecond[Int(first.components.seconds)] += 1
        }
        #expect(perSecond.allSatisfy { (18...22).contains($0) }, "\(perSecond)")
        #expect(perSecond.reduce(0, +) == 2000)
    }

    /// Holds slot `first` of K = 3 from t0 and renews it every 10 s up to `until`; the
    /// fleet size read every 75 s gives `sizes` in turn.
    private func holdThrough(until: Int, sizes: [SlotPolicy.Outcome], mayRelease: Bool = false) -> (SlotPolicy, [SlotPolicy.Request]) {
        var policy = SlotPolicy(identity: me, adopting: false)
        var sizes = sizes
        var asked: [SlotPolicy.Request] = []
        for second in 0...until {
            let now = t0 + .seconds(second)
            for _ in 0..<4 {
                guard let request = policy.next(wanted: true, mayRelease: mayRelease, Self.fleet, at: now, onset: 0) else { break }
                asked.append(request)
                let outcome: SlotPolicy.Outcome = switch request {
                case .readFleetSize: sizes.isEmpty ? .fleetSize(10) : sizes.removeFirst()
                case .probe: .seen(nil)
                default: .written(resourceVersion: "\(second)")
                }
                policy.record(outcome, of: request, Self.fleet, sentAt: now, at: now, jitter: 1)
            }
        }
        return (policy, asked)
    }

    /// Every 75 s, so a K that shrank is noticed within 90 s of the change.
    @Test func holderRereadsTheFleetSizeEvery75Seconds() {
        let (policy, asked) = holdThrough(until: 1200, sizes: [])
        #expect(asked.filter { $0 == .readFleetSize }.count == 1 + 1200 / 75)
        #expect(asked.filter { if case .renew = $0 { true } else { false } }.count == 120)
        #expect(policy.holdsSlot(Self.fleet, at: t0 + .seconds(1200)))
    }

    /// 300 holders that all read N in the same second (they entered pressure together)
    /// read it next at their own phases of the 75 s period: each within 75 s of the last
    /// read, all of them spread over the period, not again in one second.
    @Test func holdersSpreadTheirReadsOfNOverThePeriod() {
        var perTenSeconds = [Int](repeating: 0, count: 8)
        for node in 0..<300 {
            var policy = SlotPolicy(identity: "node-\(node)", adopting: false)
            var now = t0
            while let request = policy.next(wanted: true, mayRelease: false, Self.fleet, at: now, onset: 0) {
                let outcome: SlotPolicy.Outcome = switch request {
                case .readFleetSize: .fleetSize(1000)
                case .probe: .seen(nil)
                default: .written(resourceVersion: "1")
                }
                policy.record(outcome, of: request, Self.fleet, sentAt: now, at: now, jitter: 0)
                if request == .readFleetSize { now = t0 }
            }
            // Its next wake-up that reads N: renewals come every 10 s in between.
            var read: Duration?
            for second in 1...80 where read == nil {
                now = t0 + .seconds(second)
                while let request = policy.next(wanted: true, mayRelease: false, Self.fleet, at: now, onset: 0) {
                    if request == .readFleetSize { read = now - t0 }
                    policy.record(request == .readFleetSize ? .fleetSize(1000) : .written(resourceVersion: "\(second)"),
                                  of: request, Self.fleet, sentAt: now, at: now, jitter: 0)
                }
            }
            let after = read ?? .seconds(999)
            #expect(after <= .seconds(75), "node-\(node) read N again after \(after)")
            perTenSeconds[min(Int(after.components.seconds) / 10, 7)] += 1
        }
        // 300 over 75 s: 40 per 10 s on average; never all in one stretch.
        #expect(perTenSeconds.prefix(7).allSatisfy { (15...65).contains($0) }, "\(perTenSeconds)")
    }

    @Test func aFailedSizeReadKeepsTheSlot() {
        let (policy, _) = holdThrough(until: 80, sizes: [.fleetSize(10), .failed(FleetFailure(.serverError, "503"))])
        #expect(policy.holdsSlot(Self.fleet, at: t0 + .seconds(80)))
        #expect(policy.fleetSize?.nodes == 10)
    }

    @Test func shrunkBelowItsIndexReleasesOnceTheNodeIsSoft() {
        // N = 4 → K = 1: only slot 0 remains.
        let (kept, asked) = holdThrough(until: 75, sizes: [.fleetSize(10), .fleetSize(4)])
        #expect(kept.holdsSlot(Self.fleet, at: t0 + .seconds(75)) == (first == 0))
        #expect(!asked.contains { if case .release = $0 { true } else { false } }, "never while the Node may be hard")
        let (released, askedToRelease) = holdThrough(until: 75, sizes: [.fleetSize(10), .fleetSize(4)], mayRelease: true)
        if first != 0 {
            #expect(askedToRelease.contains { if case .release = $0 { true } else { false } })
            // and then acquires again, within the new K
            #expect(askedToRelease.last == .create(0) || released.holdsSlot(Self.fleet, at: t0 + .seconds(75)))
        }
    }

    @Test func holdsOnlyBelowK() {
        var policy = SlotPolicy(identity: me, adopting: false)
        var fleet = Self.fleet
        for (request, outcome) in [(SlotPolicy.Request.readFleetSize, SlotPolicy.Outcome.fleetSize(10)),
                                   (.probe(first), .seen(nil)), (.create(first), .written(resourceVersion: "1"))] {
            #expect(policy.next(wanted: true, mayRelease: false, fleet, at: t0, onset: 0) == request)
            policy.record(outcome, of: request, fleet, sentAt: t0, at: t0, jitter: 0)
        }
        #expect(policy.holdsSlot(fleet, at: t0))
        fleet.maxTainted = 1
        #expect(policy.holdsSlot(fleet, at: t0) == (first == 0))
        fleet.maxTaintedPercent = 0
        #expect(!policy.holdsSlot(fleet, at: t0))
    }
}

