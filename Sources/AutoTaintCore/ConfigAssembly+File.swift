import YAML

extension ConfigAssembly {
    /// Applies a parsed config file: every key must be one the schema knows, once per
    /// mapping, with a value of the right shape.
    mutating func apply(file root: YAMLNode) {
        apply(root, to: ConfigSchema.root, path: [])
    }

    private mutating func apply(_ node: YAMLNode, to section: [ConfigSchemaEntry], path: [String]) {
        guard case .mapping(let entries, _) = node else {
            let expected = path.isEmpty ? "a mapping of settings at the top level" : "a mapping"
            report("expected \(expected), found \(node.foundText)", key: path.dotted, at: .file(line: node.mark.line))
            return
        }
        var firstLines: [String: Int] = [:]
        for entry in entries {
            guard case .scalar(let name, _, let mark) = entry.key else {
                report("keys must be plain names, found \(entry.key.foundText)", key: path.dotted,
                       at: .file(line: entry.key.mark.line))
                continue
            }
            let keyPath = path + [name]
            let origin = SettingOrigin.file(line: mark.line)
            if let firstLine = firstLines[name] {
                report("duplicate key; it is already set on line \(firstLine)", key: keyPath.dotted, at: origin)
                continue
            }
            firstLines[name] = mark.line
            guard let child = section.first(where: { $0.key == name }) else {
                let allowed = section.map(\.key).joined(separator: ", ")
                report("unknown key; allowed here: \(allowed)", key: keyPath.dotted, at: origin)
                continue
            }
            switch child.node {
            case .section(let children, _):
                apply(entry.value, to: children, path: keyPath)
            case .setting(let setting):
                apply(entry.value, to: setting, key: keyPath.dotted, at: origin)
            }
        }
    }

    private mutating func apply(_ node: YAMLNode, to setting: Setting, key: String, at origin: SettingOrigin) {
        guard case .scalar(let text, let style, _) = node, !node.isNull else {
            report("expected \(setting.expected), found \(node.foundText)", key: key, at: origin)
            return
        }
        assign(SettingText(text: text, isQuoted: style != .plain), to: setting, key: key, from: origin)
    }
}

extension [String] {
    fileprivate var dotted: String { joined(separator: ".") }
}

extension YAMLNode {
    /// The node as an operator would describe it in "found …".
    fileprivate var foundText: String {
        switch self {
        case _ where isNull: "no value"
        case .scalar(let text, _, _): "\"\(text)\""
        case .mapping: "a mapping"
        case .sequence: "a list"
        }
    }
}
