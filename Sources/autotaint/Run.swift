import AgentExecutor
import ArgumentParser
import AutoTaintAgent
import AutoTaintCore
import Glibc
import CoreMetrics
import CurlHTTP
import HTTPEndpoint
import KubeClient
import Logging
import NodeMetrics
import ServiceLifecycle

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the agent: sample, decide, keep the node's taint and conditions in step.",
        discussion: "Fleet guard (config fleet: maxTaintedPercent 30, maxTainted, overflowEffect, "
            + "leaseDuration, daemonSet): a NoSchedule or NoExecute own taint needs one of K slot Leases "
            + "(<daemonSet>-slot-<i> in $POD_NAMESPACE, else the service account's namespace); K = max(1, "
            + "floor(maxTaintedPercent% of N)), N = the DaemonSet's nodes whose agent is up (numberReady; "
            + "during its own rolling update, plus up to maxUnavailable being replaced). Without a slot the "
            + "taint gets fleet.overflowEffect and the condition says why. --dry-run reads the DaemonSet "
            + "and the Leases and writes none.\n\n"
            + "Stop (SIGTERM/SIGINT): when the DaemonSet's (fleet.daemonSet) pod template is at a newer generation "
            + "than $POD_TEMPLATE_GENERATION (this pod's pod-template-generation label) and not being deleted, a "
            + "rolling update is replacing this pod: taints, slot and conditions (reason AgentRestarting) "
            + "are left to the successor. Otherwise (uninstall, the node left the DaemonSet, or no way to "
            + "tell), with shutdown.removeTaints own taints are removed, and conditions become "
            + "Unknown/AgentStopped, within 5 s."
    )

    @OptionGroup var config: ConfigOption

    @Option(help: "This node's name. Default: config nodeName, else $NODE_NAME.")
    var node: String?

    @Option(help: "kubeconfig file. Default: $KUBECONFIG, else in-cluster, else ~/.kube/config.")
    var kubeconfig: String?

    @Flag(help: "Decide and log what would be written, but write nothing to the API server.")
    var dryRun = false

    @Flag(help: "One sample-decide-reconcile pass, then exit.")
    var once = false

    @OptionGroup var log: LogOptions

    func run() async throws {
        let logger = log.bootstrap()
        let (settings, settingsText) = try config.loadWithText()
        let dryRun = settings.dryRun || self.dryRun
        // Guessing the Node a real run writes to would be dangerous; a dry run may.
        guard let nodeName = node ?? configuredNodeName(settings) ?? (dryRun ? hostName() : nil)
        else {
            printError("no node name: pass --node, set nodeName in the config, or set $NODE_NAME")
            throw ExitCode(1)
        }
        var agentLogger = logger
        agentLogger[metadataKey: "node"] = "\(nodeName)"
        // Up before the start-up read of the Node, so probes get answers meanwhile and a
        // port in use fails the start at once.
        let telemetry = try startServer(settings, logger: agentLogger)
        let api = try nodeAPI(dryRun: dryRun, nodeName: nodeName, logger: agentLogger)
        let initialNode = try await readNodeAtStart(api, nodeName, logger: agentLogger)
        let live = LiveConfig(settings)
        for problem in live.updateAnnotations(initialNode.annotations) ?? [] {
            agentLogger.warning("node annotation ignored", metadata: ["problem": "\(problem)"])
        }
        agentLogger.info("starting", metadata: [
            "dryRun": "\(dryRun)", "interval": "\(settings.sampling.interval.kubernetesText)",
            "signals": "\(settings.signals.enabled.map(\.rawValue))",
            "fleetGuard": "\(settings.fleet.isEnabled ? "\(settings.fleet.maxTaintedPercent)% in \(agentNamespace())" : "off")",
        ])
        let (views, output) = AsyncStream.makeStream(of: SyncInput.self, bufferingPolicy: .bufferingNewest(64))
        // A --once run is over by then: nothing to give back.
        let releaseStartupPages: (@Sendable () -> Void)? = once
            ? nil : { @Sendable [agentLogger] in StartupPages.release(logger: agentLogger) }
        let pacing = SyncPacing()
        let sync = NodeSync(
            api: api, live: live, initialNode: initialNode, dryRun: dryRun, logger: agentLogger,
            inputs: views, inbox: output, metrics: telemetry?.metrics, health: telemetry?.health, pacing: pacing,
            pod: AgentPod(api: api, namespace: agentNamespace(), templateGeneration: podTemplateGeneration(logger: agentLogger)),
            afterFirstReconcile: releaseStartupPages)
        let loop = AgentLoop(
            live: live, adopted: NodeSync.adoptedSignals(live.current, on: initialNode), once: once, dryRun: dryRun,
            logger: agentLogger,
            sampler: { [agentLogger] config in
                makeSampler(for: config, node: nodeName) { change in
                    change.log(to: agentLogger)
                    output.yield(.announce(change.event))
                }
            },
            output: output, metrics: telemetry?.metrics, health: telemetry?.health,
            reloader: config.path.map { path in
                ConfigReloader(
                    path: path, applied: settingsText, live: live, logger: agentLogger, events: output,
                    onReload: { [metrics = telemetry?.metrics] in metrics?.configReloaded(success: $0) })
            },
            // --once is a command run by hand: no reason to wait.
            pacing: pacing, startJitter: once ? 0 : .random(in: 0..<1))
        // Started in this order, stopped in reverse: the loop stops first and its last
        // views (and `.stopping`) reach NodeSync, which then cleans up and returns. Any
        // of them returning (after --once) ends the run; that is not a failure. The server
        // comes first, so it answers until the others are done.
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let telemetry {
            services.append(.init(service: telemetry.server, serviceName: "metrics-server"))
        }
        services.append(
            .init(service: sync, successTerminationBehavior: .gracefullyShutdownGroup, serviceName: "node-sync"))
        services.append(
            .init(service: loop, successTerminationBehavior: .gracefullyShutdownGroup, serviceName: "agent-loop"))
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

/// The metrics, the health state and the server publishing them.
struct Telemetry {
    let metrics: AgentMetrics
    let health: AgentHealth
    let server: MetricsServer
}

extension Run {
    /// With a `server.address`: bootstraps swift-metrics with the Prometheus export (once
    /// per process), starts listening and returns what the services record into. Without
    /// one: nil, and nothing is recorded. A port in use (or any failure to listen) exits
    /// 2: a required endpoint cannot come up.
    func startServer(_ settings: Config, logger: Logger) throws -> Telemetry? {
        guard !settings.server.address.isEmpty else {
            logger.info("no server: server.address is empty")
            return nil
        }
        let export = PrometheusExport()
        MetricsSystem.bootstrap(export.factory)
        let metrics = AgentMetrics(
            factory: MetricsSystem.factory, signals: settings.signals.enabled, version: AutoTaint.configuration.version)
        let health = AgentHealth(interval: settings.sampling.interval)
        do {
            let endpoint = try HTTPEndpoint(
                address: settings.server.address, routes: MetricsServer.routes(
                    export: export, health: health, process: ProcessStats(factory: MetricsSystem.factory)))
            logger.info("serving /metrics, /healthz, /readyz", metadata: ["address": "\(endpoint.boundAddress)"])
            return Telemetry(metrics: metrics, health: health, server: MetricsServer(endpoint: endpoint))
        } catch {
            logger.critical("cannot serve /metrics, /healthz, /readyz", metadata: [
                "address": "\(settings.server.address)", "error": "\(error)",
                "addressInUse": "\(error.addressInUse)",
            ])
            throw ExitCode(2)
        }
    }

    /// The API to the cluster `--kubeconfig`, `$KUBECONFIG`, the pod or ~/.kube/config
    /// names; with none of them, a dry run works on an offline Node and a real run exits 2.
    func nodeAPI(dryRun: Bool, nodeName: String, logger: Logger) throws -> any NodeAPI & FleetAPI {
        do {
            guard let credentials = try KubeCredentials.resolve(
                kubeconfig: kubeconfig, environment: ConfigFile.processEnvironment())
            else {
                guard dryRun else {
                    logger.critical("no cluster to run against", metadata: ["searched": "\(KubeCredentials.searched)"])
                    throw ExitCode(2)
                }
                logger.info("no cluster configured: dry run on this machine only")
                return OfflineNodeAPI(nodeName: nodeName)
            }
            logger.info("cluster", metadata: ["server": "\(credentials.server)", "from": "\(credentials.origin)"])
            return try KubeAPI(
                credentials: credentials, version: AutoTaint.configuration.version,
                watchExecutor: SingleThreadExecutor.shared, log: { [logger] in logger.warning("\($0)") })
        } catch let error as KubeCredentialsError {
            logger.critical("cannot use the cluster credentials", metadata: ["error": "\(error)"])
            throw ExitCode(2)
        } catch let error as CurlError {
            logger.critical("cannot set up HTTP", metadata: ["error": "\(error)"])
            throw ExitCode(2)
        }
    }

    /// The Node at start, read with a few quick retries so a blip of the API server does
    /// not cost a pod restart; exit 2 if it stays unreachable.
    func readNodeAtStart(_ api: any NodeAPI, _ nodeName: String, logger: Logger) async throws -> Node {
        var backoff = RetryBackoff(base: .seconds(1), cap: .seconds(4))
        for attempt in 1...4 {
            do {
                return try await api.getNode(nodeName)
            } catch {
                logger.warning("cannot read the Node", metadata: ["attempt": "\(attempt)", "error": "\(error)"])
                guard attempt < 4 else { break }
                try await ExecutorClock().sleep(for: backoff.delayAfterFailure(jitter: .random(in: 0..<1)))
            }
        }
        logger.critical("cannot read the Node at start: giving up")
        throw ExitCode(2)
    }
}

/// Where the fleet guard's slot Leases live: the pod's namespace (`$POD_NAMESPACE` from
/// the downward API, else the service account's namespace file), else `default`.
func agentNamespace() -> String {
    if let namespace = environmentValue("POD_NAMESPACE"), !namespace.isEmpty { return namespace }
    let file = try? FileContents.text(of: "/var/run/secrets/kubernetes.io/serviceaccount/namespace")
    let name = file?.filter { !$0.isWhitespace } ?? ""
    return name.isEmpty ? "default" : name
}

/// The DaemonSet template generation this pod was made from: `$POD_TEMPLATE_GENERATION`, which
/// daemonset.yaml fills from the pod's `pod-template-generation` label. Without it a SIGTERM
/// cannot tell a rolling update, and cleans up.
func podTemplateGeneration(logger: Logger) -> Int? {
    guard let text = environmentValue("POD_TEMPLATE_GENERATION"), !text.isEmpty else { return nil }
    guard let generation = Int(text), generation > 0 else {
        logger.warning("$POD_TEMPLATE_GENERATION is not a generation: a SIGTERM will clean up", metadata: ["value": "\(text)"])
        return nil
    }
    return generation
}

/// The node name the config or `$NODE_NAME` gives, if any.
func configuredNodeName(_ config: Config) -> String? {
    [config.nodeName, environmentValue("NODE_NAME") ?? ""].first { !$0.isEmpty }
}

func environmentValue(_ name: String) -> String? {
    getenv(name).map { String(cString: $0) }
}

func hostName() -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
