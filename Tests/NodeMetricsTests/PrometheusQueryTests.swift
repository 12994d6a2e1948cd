import AutoTaintCore
import Testing
@testable import NodeMetrics

private let defaultTemplate = Config.Prometheus().query

@Test(arguments: [
    // node name, what stands in the default template's regex string
    ("node-1", #"node-1"#),
    ("node-10", #"node-10"#),
    ("ip-10-0-0-1.ec2.internal", #"ip-10-0-0-1\\.ec2\\.internal"#),
    (#"a"b"#, #"a\"b"#),
    (#"a\b"#, #"a\\\\b"#),
    ("a+b*c?(d)|[e]{f}^g$h", #"a\\+b\\*c\\?\\(d\\)\\|\\[e\\]\\{f\\}\\^g\\$h"#),
    ("tab\there", #"tab\there"#),
])
func nodeIsRegexThenStringEscapedInTheDefaultTemplate(node: String, expected: String) throws {
    let query = try PrometheusQuery(template: defaultTemplate, node: node)
    #expect(query.text == #"100 * (1 - avg(rate(node_cpu_seconds_total{mode="idle",instance=~""# + expected
        + #"(:[0-9]+)?"}[1m])))"#)
}

@Test func theStringsOwnQuoteIsEscaped() throws {
    let single = try PrometheusQuery(template: #"up{instance=~'$node'}"#, node: #"a'b"c"#)
    #expect(single.text == #"up{instance=~'a\'b"c'}"#)
    let double = try PrometheusQuery(template: #"up{instance=~"$node"}"#, node: #"a'b"c"#)
    #expect(double.text == #"up{instance=~"a'b\"c"}"#)
}

@Test func aRawStringTakesTheRegexAsItIs() throws {
    let raw = try PrometheusQuery(template: "up{instance=~`$node`}", node: "a.b")
    #expect(raw.text == #"up{instance=~`a\.b`}"#)
    #expect(throws: PrometheusQueryError.backtickInRawString("a`b")) {
        try PrometheusQuery(template: "up{instance=~`$node`}", node: "a`b")
    }
}

@Test func everyPlaceholderIsReplacedAndQuotesInsideStringsDoNotConfuseTheScan() throws {
    let query = try PrometheusQuery(
        template: #"a{x="\"$node", y='"'} / b{z=~"$node"} # comment with " and $node"#, node: "n.1")
    #expect(query.text == #"a{x="\"n\\.1", y='"'} / b{z=~"n\\.1"} # comment with " and $node"#, "comments are copied as they are")
}

// MARK: - Anchoring, with PromQL's semantics

/// The inside of a PromQL double-quoted string, unescaped as PromQL's lexer does.
private func promQLUnquoted(_ text: Substring) -> String {
    var out = ""
    var escaped = false
    for character in text {
        if escaped {
            switch character {
            case "n": out.append("\n")
            case "t": out.append("\t")
            default: out.append(character)
            }
            escaped = false
        } else if character == "\\" {
            escaped = true
        } else {
            out.append(character)
        }
    }
    return out
}

/// Whether the label matcher `instance=~"…"` in `query` matches `instance`: Prometheus
/// anchors label regexes as `^(?:…)$`.
private func matches(_ query: PrometheusQuery, instance: String) throws -> Bool {
    let start = try #require(query.text.firstRange(of: #"instance=~""#)).upperBound
    var inside = ""
    var escaped = false
    for character in query.text[start...] {
        if !escaped && character == "\"" { break }
        escaped = !escaped && character == "\\"
        inside.append(character)
    }
    let pattern = promQLUnquoted(inside[...])
    let regex = try Regex("^(?:" + pattern + ")$")
    return instance.wholeMatch(of: regex) != nil
}

@Test func theRenderedMatcherSelectsItsOwnNodeOnly() throws {
    let instances = ["node-1", "node-1:9100", "node-10", "node-10:9100", "node-1x", "xnode-1", "db.lab:9100", "dbxlab:9100"]
    let expected: [String: Set<String>] = [
        "node-1": ["node-1", "node-1:9100"],
        "node-10": ["node-10", "node-10:9100"],
        "db.lab": ["db.lab:9100"],
    ]
    for (node, own) in expected {
        let query = try PrometheusQuery(template: defaultTemplate, node: node)
        let matched = try Set(instances.filter { try matches(query, instance: $0) })
        #expect(matched == own, "\(node): \(query.text)")
    }
}

@Test func theQueryGoesOutPercentEncoded() {
    let url = PrometheusSampler.queryURL(base: "http://prom:9090/", query: #"up{a=~"b\\.c"} + 1"#)
    #expect(url == "http://prom:9090/api/v1/query?query=up%7Ba%3D~%22b%5C%5C.c%22%7D%20%2B%201")
    #expect(PrometheusSampler.queryURL(base: "https://h/prefix", query: "x") == "https://h/prefix/api/v1/query?query=x")
}
