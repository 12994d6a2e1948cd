/// The fleet guard's state machine for one node, as data: which request to make next
/// (read the fleet size, find its own slot, probe, create, take over, renew, release) and
/// what each outcome changes. No I/O and no clock of its own: the agent's `FleetGate`
/// runs the requests and feeds the outcomes back, tests feed tables.
///
/// - N: read on entering pressure when none was read before, before any write that takes
///   a slot when it is over a minute old, at the start of a waiting node's later attempts
///   when over a minute old (a K that grew), and by a holder at most 75 s after its last
///   read, so that a K that shrank is noticed in time (`fleetSizeMaxAge`), at its own
///   phase of the 75 s period (`holderReadDue`). Never while no slot is wanted or held.
/// - Onset: a node entering pressure spreads its first attempt over
///   `FleetSlots.onsetWindow` (N × 50 ms, N as last read): nodes entering pressure together
///   start about 20 attempts a second at any N, not all in the same second. A node that
///   never read N reads it first, then waits its share of the window from its entry.
/// - Acquire, one attempt: probe the slot this node watches (GET) when it is new to it
///   or could have expired since; absent → create it (and the next slot, free, if absent
///   too: `prepare`), free or this node's → take it with
///   its resourceVersion. Held by another node → ask for free slots (a LIST by the
///   free-state label, `findFree`) and take the one offered. The first attempt after
///   entering pressure of a node that knows its fleet's slots exist (it saw or held one,
///   or N was handed over to it) asks for a free one first and probes only when none is
///   offered: in a spike where slots exist, two requests take one where a probe of a held
///   slot would make three. A node that takes a slot no node held before (one a
///   `prepare` made) prepares the next one too, so the chain of prepared slots does not
///   stop at the first take. A 409 means another node
///   won: the next slot at once, at most `requestsPerAttempt` requests an attempt. An
///   attempt that found every slot it looked at held waits between half and all of
///   `FleetSlots.retryCap` (slots come free only as holders leave pressure); one cut
///   short by 409s or failures backs off from 1 s. So a slot released anywhere is found
///   by the next attempt of any waiting node, and a dead holder's by the node watching it.
/// - Expiry, as client-go's leader election judges it: a slot held by another node is
///   expired once this node has seen its record unchanged for the record's lease duration,
///   never by comparing `renewTime` with a clock. A waiting node stays on the slot it
///   watches until the record changes (a live holder renewing: it moves on) or expires.
/// - Hold: renew every leaseDuration/3. A holder that could not renew for 2/3 of the
///   lease duration counts itself as without a slot, before any other node can judge the
///   slot expired, so the invariant holds except while it cannot write its Node either.
/// - Release only when the caller says the Node carries no hard own taint any more
///   (`mayRelease`), so a slot is never free while its taint is still hard.
/// - A slot this node stopped counting as its own (given up while cut off, or a release
///   that failed) may still name it: once the node wants no slot and may release, it
///   reads that Lease and, if it still names the node, releases it from the resourceVersion
///   read, so other nodes find it free instead of waiting out its lease duration.
public struct SlotPolicy: Equatable, Sendable {
    public struct Holding: Equatable, Sendable {
        public var index: Int
        public var resourceVersion: String
        public var transitions: Int
        /// When the last successful acquisition or renewal was sent: every other node's
        /// observation of that record comes later.
        public var renewedAt: Instant
    }

    public enum Phase: Equatable, Sendable {
        /// Wants no slot and holds none: makes no request.
        case idle
        /// Wants a slot and has none.
        case waiting
        case holding(Holding)
    }

    public enum Request: Equatable, Sendable {
        /// GET the DaemonSet for N.
        case readFleetSize
        /// LIST the slots, once at start when the Node already carries a hard own taint.
        case findOwn
        case probe(Int)
        /// LIST the slots labelled free.
        case findFree
        case create(Int)
        /// Create slot `index` free, after creating the one before it (or taking it, when no
        /// node had held it: a prepared one): a new fleet's slots
        /// exist only once some node creates them, and the LIST of free slots finds only
        /// existing ones, so a slot no node's hash picks would stay empty until a waiting
        /// node walked to it (in the first spike at 5,000 nodes, about 50 of 1,500 for an
        /// hour). Its answer changes nothing: 409 means it exists.
        case prepare(Int)
        /// Update slot `index` from `resourceVersion` to this node, counting a transition
        /// when it came from another holder.
        case take(index: Int, resourceVersion: String, transitions: Int)
        case renew(Holding)
        case release(Holding)
    }

    public enum Outcome: Equatable, Sendable {
        case fleetSize(FleetSize)
        /// `findOwn`: this node's slot, if a Lease names it as holder.
        case own(index: Int, SlotRecord)
        case noOwn
        /// `probe`: the record, nil when the Lease does not exist.
        case seen(SlotRecord?)
        /// `findFree`: the free slot below K chosen among those offered (`FleetSlots.offeredSlot`).
        case offered(index: Int, SlotRecord)
        case noneOffered
        /// A write succeeded; the record's new resourceVersion.
        case written(resourceVersion: String)
        /// 409: another writer won (create: AlreadyExists; update: Conflict).
        case conflict
        case failed(FleetFailure)
    }

    /// Why a node that wants a slot has none.
    public enum Shortage: Equatable, Sendable {
        /// Every slot it looked at is held.
        case limitReached
        case failed(FleetFailure)
    }

    public static let requestsPerAttempt = 3

    public let identity: String
    public private(set) var phase: Phase = .idle
    /// Set while waiting, once an attempt has ended without a slot.
    public private(set) var shortage: Shortage?
    /// N as last read, and when.
    public private(set) var fleetSize: FleetSize?
    private var fleetSizeReadAt: Instant?
    /// Entering pressure: the first attempt waits until then (`FleetSlots.onsetWindow`).
    private var onsetAttemptAt: Instant?
    /// The slot to `prepare` after this node created the one before it.
    private var unpreparedNext: Int?
    /// The first instant the policy was asked about: the origin of this node's phase of the
    /// holders' read period.
    private var epoch: Instant?
    /// Entering pressure with no N read yet: when, and the share of the window to wait once
    /// the read tells N.
    private var onsetAwaitingSize: PendingOnset?

    private struct PendingOnset: Equatable, Sendable {
        var enteredAt: Instant
        var share: Double
    }

    /// When the first attempt of this entry into pressure is due, while it is still to come.
    public func firstAttemptDue(at now: Instant) -> Instant? {
        guard case .waiting = phase, let onsetAttemptAt, onsetAttemptAt > now else { return nil }
        return onsetAttemptAt
    }
    private var findOwnPending: Bool
    /// A probe or LIST found a slot of this fleet, this node held one, or an agent it
    /// replaced handed N over (the fleet ran before it): slots likely exist, and the
    /// first attempt of an entry asks for a free one first. Wrong, it costs that LIST.
    private var slotsLikelyExist = false
    private var cursor: Int?
    /// The slot this node watches for expiry: its record and since when it is unchanged.
    private var watched: Watched?
    /// What the last probe or LIST found, for the write that follows it in the same attempt.
    private var probed: Probed?
    private var attempt = Attempt()
    /// A slot that may still name this node although it no longer counts as its own.
    public struct LostSlot: Equatable, Sendable {
        public var index: Int
        /// Since when: the release is due from then on.
        public var since: Instant
    }

    public private(set) var lostSlot: LostSlot?

    /// It holds a slot, or a lost one may still name it.
    public var hasSlotToRelease: Bool {
        if case .holding = phase { return true }
        return lostSlot != nil
    }
    private var attemptBackoff = RetryBackoff(base: .seconds(1), cap: .seconds(5))
    private var renewBackoff = RetryBackoff(base: .seconds(1), cap: .seconds(40))

    /// `adopting`: the Node carries a hard own taint at start, so its slot (if any) is
    /// looked for first.
    public init(identity: String, adopting: Bool) {
        self.identity = identity
        findOwnPending = adopting
    }


    /// N known without a read of this policy's own (`FleetSize.Source.handedOver`): it
    /// sizes the onset window and the retry cap, and counts as old, so it is read before any
    /// slot is taken or kept. A read of the policy's own wins.
    public mutating func assume(_ size: FleetSize) {
        guard fleetSize == nil else { return }
        fleetSize = size
        attemptBackoff.cap = FleetSlots.retryCap(fleetSize: size.nodes)
        slotsLikelyExist = true
    }

    /// How old N may be: a minute before a write that takes a slot and at a waiting node's
    /// later attempts; 75 s while holding,
    /// so a holder beyond a K that shrank is soft within 90 s of the DaemonSet's status
    /// change (75 s, then a tick's write). 1,500 holders reading it every 75 s are 20
    /// requests/s at the API server.
    static let fleetSizeMaxAge = (acquiring: Duration.seconds(60), holding: Duration.seconds(75))

    /// K from the last N read under `fleet`; nil before any read or with the guard off.
    public func slots(_ fleet: Config.Fleet) -> Int? {
        fleetSize.flatMap { FleetSlots.count(fleetSize: $0.nodes, fleet) }
    }

    /// Whether the node may carry hard taints now: it holds a slot below K whose renewal
    /// is recent enough.
    public func holdsSlot(_ fleet: Config.Fleet, at now: Instant) -> Bool {
        guard case let .holding(holding) = phase, let slots = slots(fleet) else { return false }
        return holding.index < slots && !Self.givenUp(holding, fleet, at: now)
    }

    private static func givenUp(_ holding: Holding, _ fleet: Config.Fleet, at now: Instant) -> Bool {
        now - holding.renewedAt >= fleet.leaseDuration * 2 / 3
    }

    /// The next request, or nil when none is due. `wanted`: a signal wants a hard taint.
    /// `mayRelease`: the Node is known to carry no hard own taint. `onset` in 0..<1: where
    /// in the onset window a first attempt goes, should pressure begin now.
    public mutating func next(wanted: Bool, mayRelease: Bool, _ fleet: Config.Fleet, at now: Instant,
                              onset: Double) -> Request? {
        if epoch == nil { epoch = now }
        switch phase {
        case .idle:
            guard wanted else { return lostSlotRequest(mayRelease: mayRelease, at: now) }
            phase = .waiting
            attempt = Attempt(freeFirst: slotsLikelyExist)
            // A restart that finds a hard own taint looks for its own slot at once.
            if !findOwnPending {
                let share = min(max(onset, 0), 1)
                if let fleetSize {
                    onsetAttemptAt = now + FleetSlots.onsetWindow(fleetSize: fleetSize.nodes) * share
                } else {
                    onsetAwaitingSize = PendingOnset(enteredAt: now, share: share)
                }
            }
            return next(wanted: wanted, mayRelease: mayRelease, fleet, at: now, onset: onset)
        case let .holding(holding):
            if Self.givenUp(holding, fleet, at: now) {
                // Its own slot first: it may well still be its own when the server answers.
                lostSlot = LostSlot(index: holding.index, since: now)
                phase = .waiting
                cursor = holding.index
                attempt = Attempt()
                return next(wanted: wanted, mayRelease: mayRelease, fleet, at: now, onset: onset)
            }
            let beyondLimit = slots(fleet).map { holding.index >= $0 } ?? false
            if (!wanted || beyondLimit || !fleet.isEnabled) && mayRelease { return .release(holding) }
            if let index = unpreparedNext {
                unpreparedNext = nil
                return .prepare(index)
            }
            if holderReadDue().map({ now >= $0 }) ?? true, fleet.isEnabled { return .readFleetSize }
            guard now - holding.renewedAt >= fleet.leaseDuration / 3, renewBackoff.allows(at: now) else { return nil }
            return .renew(holding)
        case .waiting:
            guard wanted, fleet.isEnabled else {
                phase = .idle
                shortage = nil
                probed = nil
                onsetAttemptAt = nil
                onsetAwaitingSize = nil
                attemptBackoff.recordSuccess()
                return lostSlotRequest(mayRelease: mayRelease, at: now)
            }
            guard attemptBackoff.allows(at: now), onsetAttemptAt.map({ now >= $0 }) ?? true else { return nil }
            if fleetSize == nil { return .readFleetSize }
            // The later attempts of one entry refresh an old N, so a K that grew (a zone
            // back) is seen; not the first: in a spike, that read would be a third more
            // requests from every node that finds the slots taken.
            if shortage != nil && attempt.requests == 0 && fleetSizeIsOld(at: now, maxAge: Self.fleetSizeMaxAge.acquiring) {
                return .readFleetSize
            }
            if findOwnPending { return .findOwn }
            guard let slots = slots(fleet) else { return nil }
            let index = (cursor ?? FleetSlots.firstSlot(for: identity, slots: slots)) % slots
            cursor = index
            // A node that finds every slot held spends no read of N (K from an older N
            // only chooses where to look); one that found a slot to take reads it first
            // unless fresh, so it never takes one beyond a K that shrank.
            if probed != nil && fleetSizeIsOld(at: now, maxAge: Self.fleetSizeMaxAge.acquiring) {
                return .readFleetSize
            }
            switch probed {
            case .absent:
                return .create(index)
            case let .acquirable(record):
                let fromAnother = !record.holder.isEmpty && record.holder != identity
                return .take(index: index, resourceVersion: record.resourceVersion,
                             transitions: record.transitions + (fromAnother ? 1 : 0))
            case nil:
                if let request = attemptStep(index, at: now) { return request }
                // `record` ends an attempt with nothing left to do; this only catches one
                // whose K changed under it.
                endAttempt(.limitReached, at: now, jitter: 0.5, everySlotHeld: false)
                return nil
            }
        }
    }

    /// Idle with a lost slot: read it, then release it if it still names this node.
    private func lostSlotRequest(mayRelease: Bool, at now: Instant) -> Request? {
        guard let lostSlot, mayRelease, attemptBackoff.allows(at: now) else { return nil }
        guard case let .acquirable(record) = probed else { return .probe(lostSlot.index) }
        return .release(Holding(index: lostSlot.index, resourceVersion: record.resourceVersion,
                                transitions: record.transitions, renewedAt: now))
    }

    /// When a holder reads N next: the first instant after its last read at this node's
    /// phase of the 75 s period (its name's hash, from its own `epoch`), so at most 75 s
    /// after the read, and holders that all read N in one second (entering pressure
    /// together) spread their next reads over the period instead of all reading again in
    /// one second, every period.
    private func holderReadDue() -> Instant? {
        guard let readAt = fleetSizeReadAt, let epoch else { return nil }
        let period = Self.fleetSizeMaxAge.holding.wholeMilliseconds
        let phase = Int64(FleetSlots.firstSlot(for: identity, slots: Int(period)))
        let sinceEpoch = (readAt - epoch).wholeMilliseconds
        var wait = (phase - sinceEpoch % period + period) % period
        if wait == 0 { wait = period }
        return readAt + .milliseconds(wait)
    }

    private func fleetSizeIsOld(at now: Instant, maxAge: Duration) -> Bool {
        fleetSizeReadAt.map { now - $0 >= maxAge } ?? true
    }

    private func expired(_ index: Int, _ record: SlotRecord, at now: Instant) -> Bool {
        guard let watched, watched.index == index, watched.resourceVersion == record.resourceVersion else { return false }
        return now - watched.since >= watched.leaseDuration
    }

    /// The attempt's next read, nil when it has nothing left to do. A slot is probed
    /// when this node does not watch it yet; again a third of its lease duration later,
    /// when a live holder has renewed it (so the node moves on to the next slot, and a
    /// dead holder's slot is soon watched by some node); then once it could have expired.
    /// In between, a free one is found by `findFree`.
    private func attemptStep(_ index: Int, at now: Instant) -> Request? {
        guard attempt.requests < Self.requestsPerAttempt else { return nil }
        let probeIsDue = watched.map { watched in
            watched.index != index || now - watched.since >= watched.leaseDuration / (watched.rechecked ? 1 : 3)
        } ?? true
        if attempt.freeFirst && !attempt.listedFree { return .findFree }
        if !attempt.probed && probeIsDue { return .probe(index) }
        return attempt.listedFree ? nil : .findFree
    }

    /// What `outcome` of `request` changes. `sentAt`: when the request went out;
    /// `jitter` in 0..<1 spreads the next attempt.
    public mutating func record(
        _ outcome: Outcome, of request: Request, _ fleet: Config.Fleet, sentAt: Instant, at now: Instant, jitter: Double
    ) {
        if case .waiting = phase { attempt.requests += 1 }
        if case .idle = phase, lostSlot != nil {
            recordLostSlot(outcome, of: request, at: now, jitter: jitter)
            return
        }
        switch (request, outcome) {
        case let (.readFleetSize, .fleetSize(size)):
            fleetSize = size
            fleetSizeReadAt = now
            attemptBackoff.cap = FleetSlots.retryCap(fleetSize: size.nodes)
            if case .waiting = phase {
                if let pending = onsetAwaitingSize {
                    onsetAwaitingSize = nil
                    onsetAttemptAt = pending.enteredAt + FleetSlots.onsetWindow(fleetSize: size.nodes) * pending.share
                }
                // Not counted: the read only checks K. The slot found is beyond a K that
                // shrank: start over from this node's first slot of the new K.
                attempt.requests -= 1
                if let cursor, let slots = slots(fleet), cursor >= slots {
                    self.cursor = nil
                    probed = nil
                    watched = nil
                    attempt = Attempt()
                }
            }
        case let (.findOwn, .own(index, record)):
            findOwnPending = false
            slotsLikelyExist = true
            cursor = index
            probed = .acquirable(record)
        case (.findOwn, .noOwn):
            findOwnPending = false
        case let (.probe(index), .seen(record)):
            attempt.probed = true
            observe(index, record, fleet, at: now)
        case let (.findFree, .offered(index, record)):
            attempt.listedFree = true
            slotsLikelyExist = true
            cursor = index
            probed = .acquirable(record)
        case (.findFree, .noneOffered):
            attempt.listedFree = true
        case let (.create(index), .written(resourceVersion)):
            hold(Holding(index: index, resourceVersion: resourceVersion, transitions: 0, renewedAt: sentAt))
            if let slots = slots(fleet), slots > 1 { unpreparedNext = (index + 1) % slots }
        case let (.take(index, _, transitions), .written(resourceVersion)):
            let prepared = if case let .acquirable(record) = probed { record.neverHeld } else { false }
            hold(Holding(index: index, resourceVersion: resourceVersion, transitions: transitions, renewedAt: sentAt))
            if prepared, let slots = slots(fleet), slots > 1 { unpreparedNext = (index + 1) % slots }
        case (.create(let index), .conflict), (.take(let index, _, _), .conflict):
            // Another node won this slot: the next one (or another free one), at once
            // within the attempt's budget.
            probed = nil
            watched = nil
            cursor = index + 1
            attempt.probed = false
            attempt.listedFree = false
            attempt.freeFirst = false
            if attempt.requests >= Self.requestsPerAttempt {
                endAttempt(.limitReached, at: now, jitter: jitter, everySlotHeld: false)
            }
        case let (.renew(holding), .written(resourceVersion)):
            var renewed = holding
            renewed.resourceVersion = resourceVersion
            renewed.renewedAt = sentAt
            phase = .holding(renewed)
            renewBackoff.recordSuccess()
        case let (.renew(holding), .conflict):
            // Someone else changed the record: taken over (or edited). Probe it again, as
            // any waiting node would.
            phase = .waiting
            cursor = holding.index
            watched = nil
            unpreparedNext = nil
            attempt = Attempt()
        case (.renew, .failed):
            renewBackoff.cap = fleet.leaseDuration / 6
            renewBackoff.recordFailure(at: now, jitter: jitter)
        case let (.release(holding), outcome):
            // A failed release is tried again once the node may release and the server
            // answers; meanwhile it expires on its own, no longer renewed.
            phase = .idle
            cursor = nil
            watched = nil
            unpreparedNext = nil
            if case .failed = outcome {
                lostSlot = LostSlot(index: holding.index, since: now)
                attemptBackoff.recordFailure(at: now, jitter: jitter)
            }
        case let (_, .failed(failure)):
            if case .holding = phase { return }  // a failed size read keeps the slot
            probed = nil
            endAttempt(.failed(failure), at: now, jitter: jitter, everySlotHeld: false)
        default:
            // An outcome that does not answer the request: the caller's bug; nothing changes.
            break
        }
        if case .waiting = phase, probed == nil, let cursor, let slots = slots(fleet),
           attemptStep(cursor % slots, at: now) == nil {
            endAttempt(.limitReached, at: now, jitter: jitter, everySlotHeld: attempt.listedFree)
        }
    }

    /// What the reads and the release of a lost slot find, while idle.
    private mutating func recordLostSlot(_ outcome: Outcome, of request: Request, at now: Instant, jitter: Double) {
        switch (request, outcome) {
        case let (.probe, .seen(record)):
            if let record, record.holder == identity {
                probed = .acquirable(record)
            } else {
                lostSlot = nil  // gone, free, or another node's: nothing of ours to release
                probed = nil
            }
        case (.release, .written), (.release, .conflict):
            // Released; or changed since it was read (taken, or edited): not ours to touch.
            lostSlot = nil
            probed = nil
        case (_, .failed):
            probed = nil
            attemptBackoff.recordFailure(at: now, jitter: jitter)
        default:
            break
        }
    }

    private mutating func observe(_ index: Int, _ record: SlotRecord?, _ fleet: Config.Fleet, at now: Instant) {
        guard let record else {
            probed = .absent
            return
        }
        slotsLikelyExist = true
        if record.holder.isEmpty || record.holder == identity || expired(index, record, at: now) {
            probed = .acquirable(record)
            return
        }
        probed = nil
        if let watched, watched.index == index, watched.resourceVersion != record.resourceVersion {
            // A live holder: watch the next slot from the next attempt on.
            self.watched = nil
            cursor = index + 1
        } else if watched?.index != index {
            watched = Watched(index: index, resourceVersion: record.resourceVersion, since: now,
                              leaseDuration: record.leaseDuration ?? fleet.leaseDuration)
        } else {
            watched?.rechecked = true
        }
    }

    private mutating func hold(_ holding: Holding) {
        if lostSlot?.index == holding.index { lostSlot = nil }
        slotsLikelyExist = true
        onsetAttemptAt = nil
        phase = .holding(holding)
        shortage = nil
        probed = nil
        watched = nil
        attemptBackoff.recordSuccess()
        renewBackoff.recordSuccess()
    }

    private struct Watched: Equatable, Sendable {
        var index: Int
        var resourceVersion: String
        var since: Instant
        /// The record's own, else the config's: how long unchanged means expired.
        var leaseDuration: Duration
        /// Seen unchanged at a later probe too: a holder that does not renew.
        var rechecked = false
    }

    /// What one attempt has spent and done.
    private struct Attempt: Equatable, Sendable {
        var requests = 0
        var probed = false
        var listedFree = false
        /// The first attempt of an entry into pressure, where slots are known to exist:
        /// a free one is asked for before any probe.
        var freeFirst = false
    }

    private enum Probed: Equatable, Sendable {
        case absent
        /// Free, this node's own, or expired.
        case acquirable(SlotRecord)
    }

    /// `everySlotHeld`: the attempt saw its slot held and no free one offered, so none
    /// comes free before a holder leaves pressure: the next attempt waits half to all of
    /// the cap, never the short backoff that would have every waiting node of a spike
    /// retry within its first minute.
    private mutating func endAttempt(_ shortage: Shortage, at now: Instant, jitter: Double, everySlotHeld: Bool) {
        self.shortage = shortage
        attempt = Attempt()
        onsetAttemptAt = nil
        if everySlotHeld {
            attemptBackoff.recordFailureAtCap(at: now, jitter: jitter)
        } else {
            attemptBackoff.recordFailure(at: now, jitter: jitter)
        }
    }

    /// When the policy next wants to act on its own (renewal, the next attempt); nil when
    /// it waits for nothing.
    public func nextDue(_ fleet: Config.Fleet) -> Instant? {
        switch phase {
        case .idle: lostSlot.map { lost in attemptBackoff.notBefore ?? lost.since }
        case let .holding(holding):
            min(max(holding.renewedAt + fleet.leaseDuration / 3, renewBackoff.notBefore ?? holding.renewedAt),
                holderReadDue() ?? holding.renewedAt)
        case .waiting: [attemptBackoff.notBefore, onsetAttemptAt].compactMap { $0 }.max()
        }
    }
}
