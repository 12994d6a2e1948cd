/// One node of a parsed YAML document, as written: scalars keep their text and style,
/// mappings keep their entries in file order (duplicates included), and every node
/// knows where it starts so callers can point an operator at the right line.
/// No type resolution happens here: deciding what `80` or `true` means is the caller's job.
public enum YAMLNode: Equatable, Sendable {
    case scalar(String, style: YAMLScalarStyle, mark: YAMLMark)
    case mapping([YAMLMappingEntry], mark: YAMLMark)
    case sequence([YAMLNode], mark: YAMLMark)

    /// Where the node starts in the source text.
    public var mark: YAMLMark {
        switch self {
        case .scalar(_, _, let mark), .mapping(_, let mark), .sequence(_, let mark): mark
        }
    }

    /// YAML's null: a plain `null`, `~` or nothing at all (`key:` with no value).
    public var isNull: Bool {
        guard case .scalar(let text, .plain, _) = self else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(text)
    }
}

/// A 1-based position in the source text.
public struct YAMLMark: Equatable, Sendable {
    public var line: Int
    public var column: Int

    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }
}

/// One `key: value` pair of a mapping. Keys are nodes because YAML allows any node as a
/// key; configuration code will usually accept only scalars.
public struct YAMLMappingEntry: Equatable, Sendable {
    public var key: YAMLNode
    public var value: YAMLNode

    public init(key: YAMLNode, value: YAMLNode) {
        self.key = key
        self.value = value
    }
}

/// How a scalar was written. Only plain scalars can be numbers, booleans or null in
/// YAML's core schema; a quoted `"80"` is a string.
public enum YAMLScalarStyle: Equatable, Sendable {
    case plain
    case singleQuoted
    case doubleQuoted
    case literal
    case folded
}
