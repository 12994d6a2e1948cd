import AutoTaintCore
import Synchronization

/// Which views the sampling loop sends to NodeSync: the loop publishes every view here and
/// sends it as a tick only when NodeSync has something to do with it.
///
/// After a tick that left nothing pending (the writes done, no backoff, no write of unknown
/// outcome), NodeSync promises to need no tick before its next condition heartbeat, as long
/// as the views keep the outline of that tick's view (taints, statuses, reasons) and the
/// config stays the same, the way kubelet's status manager syncs on change and on a period.
/// A quiet tick then costs no hand-off between the two tasks: about a fifth of its CPU
/// (docs/performance.md). A watch event still reconciles against the newest view, so
/// nothing NodeSync writes is older than the last tick.
public final class SyncPacing: Sendable {
    private struct Promise {
        var view: DesiredNodeView
        var config: Config
        var until: Instant
    }

    private struct State {
        var newest: (view: DesiredNodeView, config: Config, at: Instant)?
        var promise: Promise?
    }

    private let state = Mutex(State())

    public init() {}

    /// The loop, each tick: keeps `view` as the newest, and says whether NodeSync needs it
    /// as a tick.
    public func publish(_ view: DesiredNodeView, _ config: Config, at now: Instant) -> Bool {
        state.withLock { state in
            state.newest = (view, config, now)
            guard let promise = state.promise else { return true }
            return now >= promise.until || promise.config != config || !view.hasSameOutline(as: promise.view)
        }
    }

    /// The newest view the loop has published, the config and the tick it was made at.
    var newest: (view: DesiredNodeView, config: Config, at: Instant)? {
        state.withLock { $0.newest }
    }

    /// NodeSync, after each input: no tick needed before `until` while the views keep the
    /// outline of `view` under `config`; nil, every tick is needed.
    func promise(quietUntil until: Instant?, for view: DesiredNodeView, _ config: Config) {
        state.withLock { state in
            state.promise = until.map { Promise(view: view, config: config, until: $0) }
        }
    }
}
