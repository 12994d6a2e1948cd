import ArgumentParser
import AutoTaintAgent
import AutoTaintCore
import Glibc
import KubeClient
import Logging
import NodeMetrics
import ServiceLifecycle

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the agent: sample, decide, keep the node's taint and conditions in step."
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
        var settings = try config.load()
        settings.dryRun = settings.dryRun || dryRun
        guard settings.dryRun else {
            logger.critical("writing to the API server is not built yet: run with --dry-run")
            throw ExitCode(2)
        }
        let nodeName = node ?? [settings.nodeName, environmentValue("NODE_NAME") ?? ""].first { !$0.isEmpty }
            ?? hostName()
        var agentLogger = logger
        agentLogger[metadataKey: "node"] = "\(nodeName)"
        let api: any NodeAPI = OfflineNodeAPI(nodeName: nodeName)
        let initialNode: Node
        do {
            initialNode = try await api.getNode(nodeName)
        } catch {
            logger.critical("cannot read the Node at start", metadata: ["error": "\(error)"])
            throw ExitCode(2)
        }
        agentLogger.info("starting", metadata: [
            "dryRun": "\(settings.dryRun)", "interval": "\(settings.sampling.interval.kubernetesText)",
            "signals": "\(settings.signals.enabled.map(\.rawValue))",
        ])
        let (views, output) = AsyncStream.makeStream(of: SyncInput.self, bufferingPolicy: .bufferingNewest(64))
        let sync = NodeSync(
            api: api, config: settings, initialNode: initialNode, dryRun: settings.dryRun, logger: agentLogger,
            inputs: views)
        let loop = AgentLoop(
            config: settings, adopted: NodeSync.adoptedSignals(settings, on: initialNode), once: once,
            logger: agentLogger, sampler: { [settings] in makeSampler(for: settings) }, output: output)
        // Started in this order, stopped in reverse: the loop stops first and its last
        // views (and `.stopping`) reach NodeSync, which then cleans up and returns. Either
        // one returning (after --once) ends the run; that is not a failure.
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: [
                .init(service: sync, successTerminationBehavior: .gracefullyShutdownGroup, serviceName: "node-sync"),
                .init(service: loop, successTerminationBehavior: .gracefullyShutdownGroup, serviceName: "agent-loop"),
            ],
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
