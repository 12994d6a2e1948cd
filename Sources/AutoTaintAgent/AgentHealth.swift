import AutoTaintCore
import Synchronization

/// What `/healthz` and `/readyz` answer, shared between the sampling loop and NodeSync
/// (which write it) and the HTTP server's thread (which reads it), under a `Mutex`.
public final class AgentHealth: Sendable {
    struct State {
        /// The loop's start, then its last tick; nil until the loop runs.
        var lastTick: Instant?
        var interval: Duration
        var reconciled = false
    }

    private let state: Mutex<State>

    public init(interval: Duration) {
        state = Mutex(State(interval: interval))
    }

    /// The loop started, finished its first (baseline) read, or ticked; `interval` is
    /// the sampling interval it runs at.
    public func loopTicked(at now: Instant, interval: Duration) {
        state.withLock {
            $0.lastTick = now
            $0.interval = interval
        }
    }

    /// NodeSync completed a reconcile with the API server (in an offline dry run: a
    /// reconcile of the offline Node).
    public func reconciled() {
        state.withLock { $0.reconciled = true }
    }

    public func liveness(at now: Instant = .now) -> Verdict {
        let (lastTick, interval) = state.withLock { ($0.lastTick, $0.interval) }
        return Self.liveness(lastTick: lastTick, interval: interval, now: now)
    }

    public func readiness() -> Verdict {
        Self.readiness(reconciled: state.withLock { $0.reconciled })
    }

    public struct Verdict: Equatable, Sendable {
        public var ok: Bool
        public var message: String
    }

    /// Alive while the loop has ticked within 3 intervals. Before the loop runs (the
    /// start-up read of the Node, itself bounded) the agent counts as alive.
    public static func liveness(lastTick: Instant?, interval: Duration, now: Instant) -> Verdict {
        guard let lastTick else { return Verdict(ok: true, message: "ok: starting, the sampling loop has not run yet") }
        let since = now - lastTick
        let limit = interval * 3
        let text = seconds(since)
        guard since <= limit else {
            return Verdict(ok: false, message: "stalled: last tick \(text) ago, more than 3 intervals (\(seconds(limit)))")
        }
        return Verdict(ok: true, message: "ok: last tick \(text) ago")
    }

    public static func readiness(reconciled: Bool) -> Verdict {
        reconciled
            ? Verdict(ok: true, message: "ready: reconciled with the API server")
            : Verdict(ok: false, message: "not ready: no reconcile with the API server yet")
    }

    /// `1.234s`: milliseconds are enough to tell a stall.
    static func seconds(_ duration: Duration) -> String {
        let milliseconds = max(0, duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000)
        let fraction = String(milliseconds % 1000)
        return "\(milliseconds / 1000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction)s"
    }
}
