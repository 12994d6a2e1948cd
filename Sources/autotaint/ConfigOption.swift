import ArgumentParser
import AutoTaintAgent
import AutoTaintCore

/// `--config PATH`, shared by the commands that run on a config.
struct ConfigOption: ParsableArguments {
    @Option(name: .customLong("config"), help: "Config file (the ConfigMap's config.yaml). Default: built-in defaults.")
    var path: String?

    /// The config with `AUTOTAINT_*` overrides; on any error prints each one and exits 1.
    func load() throws -> Config {
        try loadWithText().config
    }

    /// `ConfigFile.loadWithText`, with the same errors as `load()`.
    func loadWithText() throws -> (config: Config, text: String?) {
        do {
            return try ConfigFile.loadWithText(path)
        } catch {
            printError(error.description)
            throw ExitCode(1)
        }
    }
}
