/// One problem with a config, located for the operator: `FILE:LINE: KEY: message`.
/// `line` is nil when the problem is not on a line of the file: it came from an
/// environment variable (then `key` is the variable's name) or from a default.
/// `key` is the dotted path of the setting (`signals.cpu.lowPercent`), or empty for a
/// problem with the file as a whole, such as a YAML syntax error.
public struct ConfigError: Error, Equatable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var key: String
    public var message: String

    public init(file: String, line: Int?, key: String, message: String) {
        self.file = file
        self.line = line
        self.key = key
        self.message = message
    }

    public var description: String {
        let place = line.map { "\(file):\($0)" } ?? file
        return key.isEmpty ? "\(place): \(message)" : "\(place): \(key): \(message)"
    }
}

/// Every problem found in a config, in file order (problems without a line last), so an
/// operator can fix them all in one go. `description` has one problem per line.
public struct ConfigErrors: Error, Equatable, Sendable, CustomStringConvertible {
    public var errors: [ConfigError]

    public init(errors: [ConfigError]) {
        self.errors = errors
    }

    public var description: String { errors.map(\.description).joined(separator: "\n") }
}
