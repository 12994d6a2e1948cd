extension YAMLNode {
    /// Parses a UTF-8 YAML text holding at most one document.
    /// Returns nil when there is nothing in it: an empty text, only comments, or a bare `---`.
    /// Throws on syntax errors (with libyaml's line, column and problem text), on a second
    /// document, on aliases and on explicit tags.
    public static func parse(_ text: String) throws(YAMLError) -> YAMLNode? {
        var builder = YAMLTreeBuilder()
        try readYAMLEvents(in: text) { event throws(YAMLError) in try builder.consume(event) }
        // libyaml represents an empty document (`---` and nothing else) as an empty plain scalar.
        if case .scalar("", .plain, _) = builder.root { return nil }
        return builder.root
    }
}
