import Testing
@testable import AutoTaintAgent

@Test(arguments: [
    ("plain", #""plain""#),
    ("quote \" and backslash \\", #""quote \" and backslash \\""#),
    ("line\nbreak\ttab", #""line\nbreak\ttab""#),
    ("bell\u{07}", #""bell\u0007""#),
    ("ünïcödé ✓", #""ünïcödé ✓""#),
])
func jsonStringEscaping(_ text: String, _ expected: String) {
    var out = ""
    appendJSON(text, to: &out)
    #expect(out == expected)
}
