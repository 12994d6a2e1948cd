/// Where a setting's value came from, so a problem with it can point there.
enum SettingOrigin: Equatable {
    case file(line: Int)
    case environment(variable: String)
}

/// A config being put together from defaults, the file and the environment, with every
/// problem found on the way. It remembers where each setting was set, so that rules
/// checked afterwards can report at the operator's line or variable.
struct ConfigAssembly {
    let file: String
    private(set) var config = Config()
    private(set) var errors: [ConfigError] = []
    private var origins: [String: SettingOrigin] = [:]
    /// Settings whose text could not be read; rules about them would only repeat that.
    private var unreadable: Set<String> = []

    init(file: String) {
        self.file = file
    }

    mutating func assign(_ text: SettingText, to setting: Setting, key: String, from origin: SettingOrigin) {
        origins[key] = origin
        do throws(SettingTextError) {
            try setting.assign(&config, text)
            unreadable.remove(key)
        } catch {
            unreadable.insert(key)
            report(error.message, key: key, at: origin)
        }
    }

    /// Reports at `origin`; without one, at the key alone (a default, or the whole file).
    mutating func report(_ message: String, key: String, at origin: SettingOrigin?) {
        switch origin {
        case .file(let line): errors.append(ConfigError(file: file, line: line, key: key, message: message))
        case .environment(let variable): errors.append(ConfigError(file: file, line: nil, key: variable, message: message))
        case nil: errors.append(ConfigError(file: file, line: nil, key: key, message: message))
        }
    }

    /// Reports each violation from the point of view of the first setting involved that
    /// the operator wrote, so the error names their line; a default is named only when
    /// nothing involved was written.
    mutating func report(_ violations: [RuleViolation]) {
        for violation in violations where violation.phrasings.allSatisfy({ !unreadable.contains($0.key) }) {
            let phrasing = violation.phrasings.first { origins[$0.key] != nil } ?? violation.phrasings[0]
            report(phrasing.message, key: phrasing.key, at: origins[phrasing.key])
        }
    }
}
