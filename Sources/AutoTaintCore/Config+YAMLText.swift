extension Config {
    /// The config as a complete config file, every key written out with defaults filled
    /// in, as `autotaint check-config` prints it. `Config.parse` reads it back as an
    /// equal config.
    public var yamlText: String {
        lines(ConfigSchema.root, indent: "").joined(separator: "\n") + "\n"
    }

    private func lines(_ entries: [ConfigSchemaEntry], indent: String) -> [String] {
        entries.flatMap { entry in
            if case .section(let children, inline: false) = entry.node {
                return ["\(indent)\(entry.key):"] + lines(children, indent: indent + "  ")
            }
            return ["\(indent)\(entry.key): \(inlineText(entry.node))"]
        }
    }

    private func inlineText(_ node: ConfigSchemaNode) -> String {
        switch node {
        case .setting(let setting):
            setting.render(self)
        case .section(let children, _):
            "{" + children.map { "\($0.key): \(inlineText($0.node))" }.joined(separator: ", ") + "}"
        }
    }
}
