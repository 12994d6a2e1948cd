import AutoTaintCore
import Synchronization

/// The config in force: the last good config file (with its `AUTOTAINT_*` overrides) and
/// the Node's threshold annotations on top. The config watcher replaces the file's part,
/// NodeSync the annotations; the sampling loop reads `current` once per tick, so a change
/// applies from the next tick on, with every signal's hysteresis state kept.
public final class LiveConfig: Sendable {
    private struct State {
        var file: Config
        var annotations: [String: String] = [:]
        var effective: Config
    }

    // Mutex: written from the watcher's and NodeSync's tasks, read from the loop's.
    private let state: Mutex<State>

    public init(_ file: Config) {
        state = Mutex(State(file: file, effective: file))
    }

    public var current: Config { state.withLock { $0.effective } }

    /// The config file's part alone, without the annotations.
    public var file: Config { state.withLock { $0.file } }

    /// Replaces the file's config; returns problems with the annotations, which are
    /// applied to it again.
    @discardableResult
    public func replaceFile(_ config: Config) -> [String] {
        state.withLock { state in
            state.file = config
            let (effective, problems) = config.applying(annotations: state.annotations)
            state.effective = effective
            return problems
        }
    }

    /// Takes the Node's annotations; nil when the agent's own ones did not change (the
    /// common case, as every Node update passes through here), else the problems.
    public func updateAnnotations(_ annotations: [String: String]) -> [String]? {
        let ours = annotations.filter { $0.key.hasPrefix("autotaint.dev/") }
        return state.withLock { state in
            guard ours != state.annotations else { return nil }
            state.annotations = ours
            let (effective, problems) = state.file.applying(annotations: ours)
            state.effective = effective
            return problems
        }
    }
}
