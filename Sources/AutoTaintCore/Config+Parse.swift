import YAML

extension Config {
    /// Builds the effective config: defaults, then the config file's `yaml` text, then
    /// the `AUTOTAINT_*` variables in `environment`, then every rule checked. Pure: the
    /// caller reads the file and passes its name (`file`) for error messages. An empty
    /// text means all defaults. Throws every problem found, not just the first.
    public static func parse(yaml: String, file: String, environment: [String: String]) throws(ConfigErrors) -> Config {
        var assembly = ConfigAssembly(file: file)
        var fileIsReadable = true
        do throws(YAMLError) {
            if let root = try YAMLNode.parse(yaml) { assembly.apply(file: root) }
        } catch {
            fileIsReadable = false
            assembly.report("\(error.message) (column \(error.column))", key: "", at: .file(line: error.line))
        }
        assembly.apply(environment: environment)
        // Without the file, the rules would judge a config the operator did not write.
        if fileIsReadable {
            assembly.report(assembly.config.signalViolations + assembly.config.timingViolations
                + assembly.config.endpointViolations + assembly.config.fleetViolations)
        }
        guard assembly.errors.isEmpty else { throw ConfigErrors(errors: inFileOrder(assembly.errors)) }
        return assembly.config
    }

    /// By line, errors without a line last, otherwise in the order found.
    private static func inFileOrder(_ errors: [ConfigError]) -> [ConfigError] {
        errors.enumerated()
            .sorted { ($0.element.line ?? .max, $0.offset) < ($1.element.line ?? .max, $1.offset) }
            .map(\.element)
    }
}
