import AutoTaintCore
import Glibc
import KubeClient
import Logging

/// Notices a changed config file and applies a valid new one without a restart. The
/// sampling loop calls `check()` at the start of each tick, so a change costs no timer or
/// thread of its own and applies on the tick that notices it.
///
/// kubelet updates a ConfigMap volume by swapping its `..data` symlink atomically, so
/// reading the path and comparing the text sees each change whole. A tick reads the file
/// only when inotify saw a change near it (`FileChangeNotifier`: one read(2) on a quiet
/// tick); where inotify is not to be had, when its `FileStamp` (inode, size, times)
/// changed or is too recent to prove anything (one stat(2)). An
/// invalid file is rejected (log, `ConfigRejected` Event) and the last good config stays;
/// a valid one replaces it (`ConfigReloaded`). `nodeName`, `dryRun` and `server.address`
/// take effect at the next start only.
public struct ConfigReloader: Sendable {
    private let path: String
    private let live: LiveConfig
    private let logger: Logger
    private let events: AsyncStream<SyncInput>.Continuation
    private let onReload: @Sendable (Bool) -> Void
    private var applied: String?
    private var lastFailure: String?
    /// nil: inotify is not to be had, and stamps tell changes instead.
    private let notifier: FileChangeNotifier?
    /// The stamp of the file when last looked at, without inotify.
    private var lastStamp: FileStamp?
    private var checkedOnce = false

    /// `applied`: the text the config in force came from, if it was read. `onReload` hears
    /// each reload's outcome (true: applied), e.g. for metrics. `useInotify` false: stamps
    /// only, as where inotify is not to be had (tests use it).
    public init(path: String, applied: String?, live: LiveConfig, logger: Logger,
                events: AsyncStream<SyncInput>.Continuation, onReload: @escaping @Sendable (Bool) -> Void = { _ in },
                useInotify: Bool = true) {
        self.path = path
        self.applied = applied
        self.live = live
        self.logger = logger
        self.events = events
        self.onReload = onReload
        do {
            notifier = useInotify ? try FileChangeNotifier(path: path) : nil
        } catch {
            notifier = nil
            logger.warning("inotify unavailable: the config file is stat'ed every tick instead", metadata: [
                "path": "\(path)", "error": "\(error)"])
        }
    }

    /// Reads the file, unless inotify (or its stamp) shows it unchanged, and reloads it if
    /// its text changed since the last reload. A file that cannot be read is logged once
    /// per distinct failure; the config in force stays.
    public mutating func check() {
        guard mayHaveChanged() else { return }
        let text: String
        do {
            text = try ConfigFile.contents(of: path)
        } catch {
            if lastFailure != error.description { logger.warning("cannot read the config", metadata: ["error": "\(error)"]) }
            lastFailure = error.description
            return
        }
        lastFailure = nil
        guard text != applied else { return }
        applied = text
        reload(text)
    }

    /// Whether the file needs a read: the first check does (the file may have changed since
    /// the start-up read), later ones when a change may have happened. Asked before the
    /// read, so a change during the read shows on the next tick.
    private mutating func mayHaveChanged() -> Bool {
        defer { checkedOnce = true }
        if let notifier { return notifier.changed() || !checkedOnce }
        let stamp = FileStamp(path: path)
        defer { lastStamp = stamp }
        guard let stamp, stamp == lastStamp else { return true }
        return !stamp.isSettled(atWallSecond: time(nil))
    }

    private func reload(_ text: String) {
        let config: Config
        do {
            config = try ConfigFile.parse(text, path: path)
        } catch {
            logger.error("config rejected; keeping the last good one", metadata: ["errors": "\(error)"])
            events.yield(.announce(NodeEvent(
                reason: "ConfigRejected", message: "Kept the last good config; \(path) is invalid: \(error)",
                kind: .warning)))
            onReload(false)
            return
        }
        let before = live.file
        for problem in live.replaceFile(config) { logger.warning("node annotation ignored", metadata: ["problem": "\(problem)"]) }
        let restartOnly = [
            ("nodeName", before.nodeName != config.nodeName), ("dryRun", before.dryRun != config.dryRun),
            ("server.address", before.server.address != config.server.address),
            ("fleet.daemonSet", before.fleet.daemonSet != config.fleet.daemonSet),
        ].filter(\.1).map(\.0)
        logger.info("config reloaded", metadata: [
            "path": "\(path)", "appliesAtRestart": .array(restartOnly.map { .string($0) }),
        ])
        events.yield(.announce(NodeEvent(reason: "ConfigReloaded", message: "Applied the config in \(path)")))
        onReload(true)
    }
}
