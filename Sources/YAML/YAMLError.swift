/// Why a YAML text could not be turned into a tree: libyaml's own problem text for
/// syntax errors, or a construct this wrapper refuses (aliases, tags, several documents).
/// `line` and `column` are 1-based.
public struct YAMLError: Error, Equatable, Sendable, CustomStringConvertible {
    public var line: Int
    public var column: Int
    public var message: String

    public init(line: Int, column: Int, message: String) {
        self.line = line
        self.column = column
        self.message = message
    }

    public init(at mark: YAMLMark, _ message: String) {
        self.init(line: mark.line, column: mark.column, message: message)
    }

    public var description: String { "line \(line), column \(column): \(message)" }
}
