import Testing
import YAML

@Suite("YAML wrapper over libyaml")
struct YAMLNodeTests {
    private func mark(_ line: Int, _ column: Int) -> YAMLMark { YAMLMark(line: line, column: column) }

    @Test func blockMappingKeepsOrderLinesAndStyles() throws {
        let root = try YAMLNode.parse("""
            # comment
            b: 1
            a: 'x'
            c:
              - "y"
              - z
            """)
        #expect(root == .mapping([
            YAMLMappingEntry(key: .scalar("b", style: .plain, mark: mark(2, 1)),
                             value: .scalar("1", style: .plain, mark: mark(2, 4))),
            YAMLMappingEntry(key: .scalar("a", style: .plain, mark: mark(3, 1)),
                             value: .scalar("x", style: .singleQuoted, mark: mark(3, 4))),
            YAMLMappingEntry(key: .scalar("c", style: .plain, mark: mark(4, 1)),
                             value: .sequence([
                                 .scalar("y", style: .doubleQuoted, mark: mark(5, 5)),
                                 .scalar("z", style: .plain, mark: mark(6, 5)),
                             ], mark: mark(5, 3))),
        ], mark: mark(2, 1)))
    }

    @Test func flowMappingOnOneLine() throws {
        let root = try YAMLNode.parse(#"taint: {key: a, value: "true", effect: NoSchedule}"#)
        guard case .mapping(let top, _) = root, case .mapping(let taint, let taintMark) = top.first?.value else {
            Issue.record("expected a nested mapping, got \(String(describing: root))")
            return
        }
        #expect(taintMark == mark(1, 8))
        #expect(taint.map(\.value) == [
            .scalar("a", style: .plain, mark: mark(1, 14)),
            .scalar("true", style: .doubleQuoted, mark: mark(1, 24)),
            .scalar("NoSchedule", style: .plain, mark: mark(1, 40)),
        ])
    }

    @Test func duplicateKeysAreKeptForTheCallerToJudge() throws {
        guard case .mapping(let entries, _) = try YAMLNode.parse("a: 1\na: 2\n") else {
            Issue.record("expected a mapping")
            return
        }
        #expect(entries.map(\.key.mark.line) == [1, 2])
    }

    @Test(arguments: ["", "\n", "# only a comment\n", "---\n", "---\n...\n"])
    func emptyDocumentHasNoRoot(text: String) throws {
        #expect(try YAMLNode.parse(text) == nil)
    }

    @Test(arguments: [
        ("", true), ("~", true), ("null", true), ("NULL", true), ("'null'", false), ("\"\"", false), ("x", false),
    ])
    func nullIsAPlainEmptyTildeOrNull(value: String, isNull: Bool) throws {
        guard case .mapping(let entries, _) = try YAMLNode.parse("k: \(value)") else {
            Issue.record("expected a mapping")
            return
        }
        #expect(entries[0].value.isNull == isNull)
    }

    @Test(arguments: [
        ("a: 1\n b: 2\n", YAMLError(line: 2, column: 3, message: "mapping values are not allowed in this context")),
        ("a: [1, 2\n", YAMLError(line: 2, column: 1,
            message: "did not find expected ',' or ']' (while parsing a flow sequence starting on line 1)")),
        ("a: 'open\n", YAMLError(line: 2, column: 1,
            message: "found unexpected end of stream (while scanning a quoted scalar starting on line 1)")),
        ("a: 1\n---\nb: 2\n", YAMLError(line: 2, column: 1,
            message: "a second YAML document starts here; the file must hold exactly one")),
        ("base: &b 1\ncopy: *b\n", YAMLError(line: 2, column: 7,
            message: "aliases (*b) are not supported; write the value out")),
        ("a: !!str 80\n", YAMLError(line: 1, column: 4,
            message: "tags (tag:yaml.org,2002:str) are not supported; remove the tag")),
        ("a: 1\nb: \u{7}\n", YAMLError(line: 2, column: 4, message: "control characters are not allowed")),
        // Found by the config fuzz target: without a final line break, libyaml's mark was
        // on line 3 of this 2-line text.
        ("a: 1\nb=", YAMLError(line: 2, column: 3,
            message: "could not find expected ':' (while scanning a simple key starting on line 2)")),
    ])
    func errorsCarryLineColumnAndProblem(text: String, expected: YAMLError) {
        #expect(throws: expected) { try YAMLNode.parse(text) }
    }
}
