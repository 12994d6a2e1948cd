import AutoTaintCore
import Synchronization

/// The API server's own word on when to come back: the `Retry-After` of a 429 (priority
/// and fairness) or a 503, kept for the whole connection and consulted before every
/// request, whoever sends it (Node writes, Events, the fleet guard's Leases and DaemonSet
/// read, the watch). A request inside the pause is not sent: it fails at once as
/// `.throttled` with the time left as its `retryAfter`, so every caller's own backoff
/// waits it out the same way it waits out a real 429.
final class ServerPause: Sendable {
    private struct Pause {
        var until: ContinuousClock.Instant
        /// The answer that asked for it, for the message of the requests it holds back.
        var cause: String
    }

    private let pause = Mutex<Pause?>(nil)

    /// Throws the held-back error when a pause is in force at `now`.
    func check(_ request: APIRequest, at now: ContinuousClock.Instant = .now) throws(KubeError) {
        guard let held = pause.withLock({ $0 }), held.until > now else { return }
        let left = held.until - now
        throw KubeError(
            kind: .throttled, verb: request.verb, resource: request.resource,
            message: "not sent: the API server asked to wait (\(held.cause)); \(left.roundedToMilliseconds.kubernetesText) left",
            retryAfter: left)
    }

    /// Starts (or extends) a pause when `error` carries a `Retry-After`.
    func record(_ error: KubeError, at now: ContinuousClock.Instant = .now) {
        guard let retryAfter = error.retryAfter, retryAfter > .zero else { return }
        let until = now + retryAfter
        pause.withLock { pause in
            if let current = pause, current.until >= until { return }
            pause = Pause(until: until, cause: error.description)
        }
    }
}
