/// One leaf of the config file: how its text is read into a `Config` and written back.
struct Setting: Sendable {
    /// What a value looks like, for "expected …, found …" messages.
    let expected: String
    let assign: @Sendable (inout Config, SettingText) throws(SettingTextError) -> Void
    let render: @Sendable (Config) -> String

    init<Value>(_ keyPath: WritableKeyPath<Config, Value> & Sendable, _ codec: SettingCodec<Value>) {
        expected = codec.expected
        assign = { config, text throws(SettingTextError) in config[keyPath: keyPath] = try codec.decode(text) }
        render = { codec.encode($0[keyPath: keyPath]) }
    }
}

/// A node of the config file's shape: a setting, or a section of named nodes.
/// `inline` sections are written as flow mappings (`taint: {key: …, value: …}`).
indirect enum ConfigSchemaNode: Sendable {
    case setting(Setting)
    case section([ConfigSchemaEntry], inline: Bool)
}

struct ConfigSchemaEntry: Sendable {
    let key: String
    let node: ConfigSchemaNode

    init(_ key: String, _ node: ConfigSchemaNode) {
        self.key = key
        self.node = node
    }

    init<Value>(_ key: String, _ keyPath: WritableKeyPath<Config, Value> & Sendable, _ codec: SettingCodec<Value>) {
        self.init(key, .setting(Setting(keyPath, codec)))
    }
}

/// The config file's keys, in the order of product.md's "Config file" section. This one
/// table drives reading the file, the `AUTOTAINT_*` overrides and `yamlText`, so a key
/// added here exists everywhere at once.
enum ConfigSchema {
    static let root: [ConfigSchemaEntry] = [
        ConfigSchemaEntry("nodeName", \.nodeName, .string),
        ConfigSchemaEntry("sampling", .section([
            ConfigSchemaEntry("interval", \.sampling.interval, .duration),
            ConfigSchemaEntry("source", \.sampling.source, .oneOf),
        ], inline: false)),
        ConfigSchemaEntry("signals", .section(SignalKind.allCases.map(signal), inline: false)),
        ConfigSchemaEntry("prometheus", .section([
            ConfigSchemaEntry("url", \.prometheus.url, .string),
            ConfigSchemaEntry("query", \.prometheus.query, .string),
            ConfigSchemaEntry("timeout", \.prometheus.timeout, .duration),
            ConfigSchemaEntry("staleAfter", \.prometheus.staleAfter, .duration),
        ], inline: false)),
        ConfigSchemaEntry("heartbeat", \.heartbeat, .duration),
        ConfigSchemaEntry("fleet", .section([
            ConfigSchemaEntry("maxTaintedPercent", \.fleet.maxTaintedPercent, .number),
            ConfigSchemaEntry("maxTainted", \.fleet.maxTainted, .number),
            ConfigSchemaEntry("overflowEffect", \.fleet.overflowEffect, .oneOf),
            ConfigSchemaEntry("leaseDuration", \.fleet.leaseDuration, .duration),
            ConfigSchemaEntry("daemonSet", \.fleet.daemonSet, .string),
        ], inline: false)),
        ConfigSchemaEntry("shutdown", .section([
            ConfigSchemaEntry("removeTaints", \.shutdown.removeTaints, .bool),
        ], inline: false)),
        ConfigSchemaEntry("server", .section([
            ConfigSchemaEntry("address", \.server.address, .string),
        ], inline: false)),
        ConfigSchemaEntry("dryRun", \.dryRun, .bool),
    ]

    private static func signal(_ kind: SignalKind) -> ConfigSchemaEntry {
        let gate = kind == .cpuContention ? [ConfigSchemaEntry("minUsagePercent", \.signals[kind].minUsagePercent, .number)] : []
        return ConfigSchemaEntry(kind.rawValue, .section([
            ConfigSchemaEntry("enabled", \.signals[kind].enabled, .bool),
            ConfigSchemaEntry("highPercent", \.signals[kind].highPercent, .number),
            ConfigSchemaEntry("lowPercent", \.signals[kind].lowPercent, .number),
        ] + gate + [
            ConfigSchemaEntry("for", \.signals[kind].for, .duration),
            ConfigSchemaEntry("recoverFor", \.signals[kind].recoverFor, .duration),
            ConfigSchemaEntry("minHold", \.signals[kind].minHold, .duration),
            ConfigSchemaEntry("taint", .section([
                ConfigSchemaEntry("key", \.signals[kind].taint.key, .string),
                ConfigSchemaEntry("value", \.signals[kind].taint.value, .string),
                ConfigSchemaEntry("effect", \.signals[kind].taint.effect, .oneOf),
            ], inline: true)),
            ConfigSchemaEntry("condition", \.signals[kind].condition, .string),
            ConfigSchemaEntry("enforce", \.signals[kind].enforce, .bool),
            ConfigSchemaEntry("allowNoExecute", \.signals[kind].allowNoExecute, .bool),
        ], inline: false))
    }

    /// Every setting by its `AUTOTAINT_*` variable, with its dotted key.
    static let settingsByVariable: [String: (key: String, setting: Setting)] = {
        var settings: [String: (key: String, setting: Setting)] = [:]
        func collect(_ entries: [ConfigSchemaEntry], path: [String]) {
            for entry in entries {
                switch entry.node {
                case .setting(let setting):
                    let keyPath = path + [entry.key]
                    let variable = "AUTOTAINT_" + keyPath.map { $0.uppercased() }.joined(separator: "_")
                    settings[variable] = (keyPath.joined(separator: "."), setting)
                case .section(let children, _):
                    collect(children, path: path + [entry.key])
                }
            }
        }
        collect(root, path: [])
        return settings
    }()
}
