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

    /// The config, and the file's text it was parsed from (nil without a file): what the
    /// agent's reloader compares later reads with, so a change after this read is not missed.
    func loadWithText() throws -> (config: Config, text: String?) {
        do {
            guard let path else { return (try ConfigFile.load(nil), nil) }
            let text = try ConfigFile.contents(of: path)
            return (try ConfigFile.parse(text, path: path), text)
        } catch {
            printError(error.description)
            throw ExitCode(1)
        }
    }
}
