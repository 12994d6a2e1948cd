import ArgumentParser
import AutoTaintAgent
import AutoTaintCore
import NodeMetrics

struct CheckConfig: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate a config file and print the effective config (defaults filled in).",
        discussion: "On any error prints PATH:LINE: what is wrong, one per line, and exits 1. "
            + "AUTOTAINT_* environment overrides are applied as the agent would. A valid config whose "
            + "signals this machine cannot read (cpuContention without PSI) gets a warning and exits 0."
    )

    @Argument(help: "The config file, e.g. the ConfigMap's config.yaml.")
    var path: String

    func run() async throws {
        let config: Config
        do {
            config = try ConfigFile.load(path)
        } catch {
            printError(error.description)
            throw ExitCode(1)
        }
        print(config.yamlText)
        if config.signals.cpuContention.enabled, let problem = ProcSampler.stallProblem() {
            printError("warning: signals.cpuContention: \(problem.detail); on this machine the signal reports Unknown")
        }
    }
}
