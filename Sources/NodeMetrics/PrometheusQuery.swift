/// The `prometheus.query` template with `$node` filled in for one node.
///
/// `$node` stands for the node name inside a PromQL regex, e.g.
/// `instance=~"$node(:[0-9]+)?"`. The name is first regex-escaped (RE2 metacharacters get a
/// backslash: `.` → `\.`), then escaped for the PromQL string it sits in (`\` → `\\`, and
/// the string's own quote). PromQL anchors label regexes (`^(?:…)$`), so for `node-1` the
/// default template matches `node-1` and `node-1:9100`, never `node-10` or `node-1x`.
///
/// The string a `$node` sits in is found by scanning the template as PromQL's lexer does:
/// `"…"` and `'…'` strings take backslash escapes and their own quote escaped; `` `…` ``
/// strings take none (a name with a backtick cannot be put in one). A `$node` outside any
/// string is escaped as in a double-quoted string.
public struct PrometheusQuery: Equatable, Sendable {
    /// The PromQL expression to send.
    public let text: String

    public init(template: String, node: String) throws(PrometheusQueryError) {
        let placeholder = Array("$node")
        let characters = Array(template)
        var text = ""
        var quote: Character?
        var index = 0
        while index < characters.count {
            let character = characters[index]
            if characters[index...].starts(with: placeholder) {
                text += try Self.escape(node, in: quote)
                index += placeholder.count
                continue
            }
            text.append(character)
            index += 1
            switch quote {
            case nil:
                if character == "\"" || character == "'" || character == "`" { quote = character }
                // A comment runs to the end of the line and may hold quotes.
                if character == "#" {
                    while index < characters.count, characters[index] != "\n" {
                        text.append(characters[index])
                        index += 1
                    }
                }
            case "`"?:
                if character == "`" { quote = nil }
            case let open?:
                if character == "\\", index < characters.count {
                    // An escaped character, whatever it is, does not end the string.
                    text.append(characters[index])
                    index += 1
                } else if character == open {
                    quote = nil
                }
            }
        }
        self.text = text
    }

    /// RE2's metacharacters, as Go's `regexp.QuoteMeta` escapes them.
    static let regexMetacharacters: Set<Character> = ["\\", ".", "+", "*", "?", "(", ")", "|", "[", "]", "{", "}", "^", "$"]

    /// `name` as a regex that matches exactly it.
    public static func regexEscaped(_ name: String) -> String {
        var escaped = ""
        for character in name {
            if regexMetacharacters.contains(character) { escaped.append("\\") }
            escaped.append(character)
        }
        return escaped
    }

    /// `text` as the inside of a PromQL string opened with `quote` (nil: outside a string,
    /// escaped as for `"`).
    static func stringEscaped(_ text: String, in quote: Character?) throws(PrometheusQueryError) -> String {
        if quote == "`" {
            guard !text.contains("`") else { throw PrometheusQueryError.backtickInRawString(text) }
            return text
        }
        let open = quote ?? "\""
        var escaped = ""
        for character in text {
            switch character {
            case "\\", open: escaped += "\\\(character)"
            case "\n": escaped += "\\n"
            case "\t": escaped += "\\t"
            case "\r": escaped += "\\r"
            default: escaped.append(character)
            }
        }
        return escaped
    }

    static func escape(_ node: String, in quote: Character?) throws(PrometheusQueryError) -> String {
        try stringEscaped(regexEscaped(node), in: quote)
    }
}

public enum PrometheusQueryError: Error, Equatable, Sendable, CustomStringConvertible {
    case backtickInRawString(String)

    public var description: String {
        switch self {
        case let .backtickInRawString(name):
            "$node stands in a `raw string` in prometheus.query, which cannot hold the backtick in \(name)"
        }
    }
}
