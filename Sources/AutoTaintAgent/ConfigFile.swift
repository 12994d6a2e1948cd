import AutoTaintCore
import Glibc

/// Reads a config file and this process's `AUTOTAINT_*` environment into a `Config`
/// (`Config.parse` looks at those variables only).
/// The only place the agent touches a config file; everything else gets the value.
public enum ConfigFile {
    /// `path` nil: defaults plus the environment.
    public static func load(_ path: String?) throws(ConfigFileError) -> Config {
        try loadWithText(path).config
    }

    /// The config, and the file's text it was parsed from (nil without a file): what the
    /// agent's reloader compares later reads with, so a change after this read is not missed.
    public static func loadWithText(_ path: String?) throws(ConfigFileError) -> (config: Config, text: String?) {
        guard let path else { return (try parse("", path: "(defaults)"), nil) }
        let text = try contents(of: path)
        return (try parse(text, path: path), text)
    }

    /// `text` as the contents of the file at `path`, with this process's environment.
    public static func parse(_ text: String, path: String) throws(ConfigFileError) -> Config {
        do {
            return try Config.parse(yaml: text, file: path, environment: processEnvironment())
        } catch {
            throw .invalid(error)
        }
    }

    /// The whole file as UTF-8 text; errors carry the system's reason (`No such file or directory`).
    public static func contents(of path: String) throws(ConfigFileError) -> String {
        do {
            return try FileContents.text(of: path)
        } catch {
            throw .unreadable(path: error.path, reason: error.reason)
        }
    }

    /// This process's environment variables.
    public static func processEnvironment() -> [String: String] {
        var environment: [String: String] = [:]
        var entry = environ
        while let pointer = entry.pointee {
            let text = String(cString: pointer)
            if let equals = text.firstIndex(of: "=") {
                environment[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            entry += 1
        }
        return environment
    }
}

/// Why a config could not be had; its description is what an operator reads.
public enum ConfigFileError: Error, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case invalid(ConfigErrors)

    public var description: String {
        switch self {
        case let .unreadable(path, reason): "\(path): cannot read: \(reason)"
        case let .invalid(errors): errors.description
        }
    }
}
