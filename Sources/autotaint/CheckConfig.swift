import ArgumentParser
import AutoTaintAgent

struct CheckConfig: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate a config file and print the effective config (defaults filled in).",
        discussion: "On any error prints PATH:LINE: what is wrong, one per line, and exits 1. "
            + "AUTOTAINT_* environment overrides are applied as the agent would."
    )

    @Argument(help: "The config file, e.g. the ConfigMap's config.yaml.")
    var path: String

    func run() async throws {
        do {
            print(try ConfigFile.load(path).yamlText)
        } catch {
            printError(error.description)
            throw ExitCode(1)
        }
    }
}
