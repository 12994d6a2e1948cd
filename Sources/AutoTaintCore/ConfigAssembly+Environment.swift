extension ConfigAssembly {
    /// The prefix of the variables that override file settings, as in
    /// `AUTOTAINT_SIGNALS_CPU_HIGHPERCENT=85`.
    static let variablePrefix = "AUTOTAINT_"

    /// Applies every `AUTOTAINT_*` variable on top of the file, in name order so errors
    /// come out the same way each time. A variable that names no setting is an error,
    /// like an unknown key in the file.
    mutating func apply(environment: [String: String]) {
        for (variable, value) in environment.sorted(by: { $0.key < $1.key })
        where variable.hasPrefix(Self.variablePrefix) {
            guard let (key, setting) = ConfigSchema.settingsByVariable[variable] else {
                report(
                    "names no setting; variables are AUTOTAINT_ and the key path in capitals, e.g. AUTOTAINT_SIGNALS_CPU_HIGHPERCENT",
                    key: variable, at: .environment(variable: variable))
                continue
            }
            assign(SettingText(text: value, isQuoted: false), to: setting, key: key, from: .environment(variable: variable))
        }
    }
}
