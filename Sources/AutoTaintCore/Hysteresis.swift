/// A point on the monotonic clock the agent runs on. Decisions take it as a value, so
/// tests drive them with made-up times.
public typealias Instant = ContinuousClock.Instant

/// One signal's thresholds and hold times, as plain data (kubelet's eviction manager keeps
/// its thresholds the same way).
public struct Thresholds: Equatable, Sendable {
    public var highPercent: Double
    public var lowPercent: Double
    /// How long usage must stay >= highPercent before pressure is entered.
    public var holdHigh: Duration
    /// How long usage must stay <= lowPercent before pressure is left.
    public var recoverFor: Duration
    /// The taint is never changed sooner than this after its last change.
    public var minHold: Duration
    /// With no sample for this long the signal is `unknown`.
    public var staleAfter: Duration

    public init(
        highPercent: Double, lowPercent: Double, holdHigh: Duration, recoverFor: Duration,
        minHold: Duration, staleAfter: Duration
    ) {
        self.highPercent = highPercent
        self.lowPercent = lowPercent
        self.holdHigh = holdHigh
        self.recoverFor = recoverFor
        self.minHold = minHold
        self.staleAfter = staleAfter
    }

    public init(_ signal: SignalConfig, staleAfter: Duration) {
        self.init(
            highPercent: signal.highPercent, lowPercent: signal.lowPercent, holdHigh: signal.for,
            recoverFor: signal.recoverFor, minHold: signal.minHold, staleAfter: staleAfter
        )
    }

    /// `signal`'s thresholds in `config`; a signal goes unknown after `prometheus.staleAfter`.
    public init(_ signal: SignalKind, in config: Config) {
        self.init(config.signals[signal], staleAfter: config.prometheus.staleAfter)
    }
}

/// Where a signal stands. `pending-high` is still on the untainted side and `pending-low`
/// still on the tainted side: the taint changes only when a pending phase completes.
public enum Phase: String, CaseIterable, Equatable, Sendable {
    case normal
    case pendingHigh = "pending-high"
    case pressure
    case pendingLow = "pending-low"
    /// No sample for `staleAfter`: the taint stays as it was, so a monitoring outage
    /// does not flap it.
    case unknown
}

/// The hysteresis state of one signal: a pure state machine driven by observations (a
/// value or none) at given times. It owns no clock and does no I/O.
public struct SignalState: Equatable, Sendable {
    public private(set) var phase: Phase
    /// When `phase` was entered; the `holdHigh` and `recoverFor` clocks run from here.
    public private(set) var phaseSince: Instant
    /// Whether the signal wants its taint: true in pressure and pending-low; unknown
    /// keeps what it had.
    public private(set) var tainted: Bool
    /// When `tainted` last changed; nil while it has not changed since start, so that
    /// `minHold` does not delay the first decision.
    public private(set) var taintChangedAt: Instant?
    public private(set) var lastSampleAt: Instant
    /// The last value observed, for messages; kept through `unknown`.
    public private(set) var lastPercent: Double?

    /// The state at start: `tainted` is what the node already carries (adopted, so a
    /// restart in pressure does not remove and re-add the taint).
    public init(startingAt now: Instant, tainted: Bool = false) {
        phase = tainted ? .pressure : .normal
        phaseSince = now
        self.tainted = tainted
        taintChangedAt = nil
        lastSampleAt = now
        lastPercent = nil
    }

    /// Advances the machine by one observation. `percent` is nil when the tick produced
    /// no value (or a non-finite one); the state then holds until `staleAfter` has passed
    /// since the last value, and turns `unknown`.
    public mutating func observe(_ percent: Double?, at now: Instant, _ thresholds: Thresholds) {
        guard let percent, percent.isFinite else {
            if phase != .unknown && now - lastSampleAt >= thresholds.staleAfter {
                enter(.unknown, at: now)
            }
            return
        }
        lastSampleAt = now
        lastPercent = percent
        if phase == .unknown {
            // Resume on the side the taint is on; pending clocks start afresh.
            enter(tainted ? .pressure : .normal, at: now)
        }
        // Outside `unknown`, the taint side and the phase agree: normal and pending-high
        // are untainted, pressure and pending-low tainted.
        if tainted {
            guard percent <= thresholds.lowPercent else {
                if phase == .pendingLow { enter(.pressure, at: now) }
                return
            }
            if phase == .pressure { enter(.pendingLow, at: now) }
            if now - phaseSince >= thresholds.recoverFor && minHoldElapsed(at: now, thresholds) {
                enter(.normal, at: now)
                setTainted(false, at: now)
            }
        } else {
            guard percent >= thresholds.highPercent else {
                if phase == .pendingHigh { enter(.normal, at: now) }
                return
            }
            if phase == .normal { enter(.pendingHigh, at: now) }
            if now - phaseSince >= thresholds.holdHigh && minHoldElapsed(at: now, thresholds) {
                enter(.pressure, at: now)
                setTainted(true, at: now)
            }
        }
    }

    /// The source cannot give this signal at all (a kernel without PSI): `unknown` at
    /// once, keeping the taint, instead of a made-up `normal` until `staleAfter` passes.
    public mutating func observeUnavailable(at now: Instant) {
        if phase != .unknown { enter(.unknown, at: now) }
    }

    private func minHoldElapsed(at now: Instant, _ thresholds: Thresholds) -> Bool {
        guard let taintChangedAt else { return true }
        return now - taintChangedAt >= thresholds.minHold
    }

    private mutating func enter(_ next: Phase, at now: Instant) {
        phase = next
        phaseSince = now
    }

    private mutating func setTainted(_ value: Bool, at now: Instant) {
        tainted = value
        taintChangedAt = now
    }
}
