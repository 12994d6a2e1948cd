import ArgumentParser
import AutoTaintAgent
import AutoTaintCore
import Glibc
import Logging
import NodeMetrics
import ServiceLifecycle

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the agent: sample, decide, keep the node's taint and conditions in step."
    )

    @Option(help: "Config file (the ConfigMap's config.yaml). Default: built-in defaults.")
    var config: String?

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
        var settings: Config
        do {
            settings = try ConfigFile.load(config)
        } catch {
            printError(error.description)
            throw ExitCode(1)
        }
        settings.dryRun = settings.dryRun || dryRun
        guard settings.dryRun else {
            logger.critical("writing to the API server is not built yet: run with --dry-run")
            throw ExitCode(2)
        }
        let nodeName = node ?? [settings.nodeName, environmentValue("NODE_NAME") ?? ""].first { !$0.isEmpty }
            ?? hostName()
        var agentLogger = logger
        agentLogger[metadataKey: "node"] = "\(nodeName)"
        agentLogger.info("starting", metadata: [
            "dryRun": "true", "interval": "\(settings.sampling.interval.kubernetesText)",
            "signals": "\(settings.signals.enabled.map(\.rawValue))",
        ])
        let loop = AgentLoop(
            config: settings, once: once, logger: agentLogger,
            sampler: { [settings, agentLogger] in
                makeSampler(for: settings, node: nodeName) { change in
                    agentLogger.warning("source fallback", metadata: [
                        "from": "\(change.from.rawValue)", "to": "\(change.to.rawValue)",
                        "reason": "\(change.reason)", "detail": "\(change.detail)",
                    ])
                }
            },
            updater: { [agentLogger] in DryRunNode(logger: agentLogger) })
        // The loop returning (after --once) ends the run; it is not a failure.
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: [.init(service: loop, successTerminationBehavior: .gracefullyShutdownGroup,
                             serviceName: "agent-loop")],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

func environmentValue(_ name: String) -> String? {
    getenv(name).map { String(cString: $0) }
}

func hostName() -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
