import AutoTaintCore
import KubeClient
import Logging
import ServiceLifecycle

/// Watches the config file and applies a valid new one without a restart, as a
/// swift-service-lifecycle `Service`.
///
/// kubelet updates a ConfigMap volume by swapping its `..data` symlink atomically, so
/// reading the path once per `sampling.interval` and comparing the text sees each change
/// within one interval, whole. An invalid file is rejected (log, `ConfigRejected` Event)
/// and the last good config stays; a valid one replaces it (`ConfigReloaded`).
/// `nodeName`, `dryRun` and `server.address` take effect at the next start only.
public struct ConfigWatcher: Service {
    private let path: String
    private let live: LiveConfig
    private let logger: Logger
    private let events: AsyncStream<SyncInput>.Continuation
    private let onReload: @Sendable (Bool) -> Void

    /// `onReload` hears each reload's outcome (true: applied), e.g. for metrics.
    public init(path: String, live: LiveConfig, logger: Logger, events: AsyncStream<SyncInput>.Continuation,
                onReload: @escaping @Sendable (Bool) -> Void = { _ in }) {
        self.path = path
        self.live = live
        self.logger = logger
        self.events = events
        self.onReload = onReload
    }

    public func run() async throws {
        var applied = try? ConfigFile.contents(of: path)
        var lastFailure: String?
        while !Task.isShuttingDownGracefully {
            let interval = live.current.sampling.interval
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                break
            }
            let text: String
            do {
                text = try ConfigFile.contents(of: path)
            } catch {
                if lastFailure != error.description { logger.warning("cannot read the config", metadata: ["error": "\(error)"]) }
                lastFailure = error.description
                continue
            }
            lastFailure = nil
            guard text != applied else { continue }
            applied = text
            reload(text)
        }
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
        ].filter(\.1).map(\.0)
        logger.info("config reloaded", metadata: [
            "path": "\(path)", "appliesAtRestart": .array(restartOnly.map { .string($0) }),
        ])
        events.yield(.announce(NodeEvent(reason: "ConfigReloaded", message: "Applied the config in \(path)")))
        onReload(true)
    }
}
