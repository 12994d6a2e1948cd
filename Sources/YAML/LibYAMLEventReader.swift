import CYAML

/// Feeds `text` through libyaml's event parser and hands each event to `body`.
/// Every libyaml allocation (parser and events) is released before this returns,
/// whether parsing succeeds, fails, or `body` throws.
func readYAMLEvents(
    in text: String, _ body: (YAMLEvent) throws(YAMLError) -> Void
) throws(YAMLError) {
    let bytes = Array(text.utf8)
    // libyaml reads straight from the buffer, so all parsing happens while it is pinned.
    let result = bytes.withUnsafeBufferPointer { buffer -> Result<Void, YAMLError> in
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) != 0 else {
            return .failure(YAMLError(line: 1, column: 1, message: "libyaml could not allocate a parser"))
        }
        defer { yaml_parser_delete(&parser) }
        yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
        yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)

        while true {
            var event = yaml_event_t()
            guard yaml_parser_parse(&parser, &event) != 0 else {
                return .failure(parserError(parser, bytes: buffer))
            }
            defer { yaml_event_delete(&event) }
            if event.type == YAML_STREAM_END_EVENT { return .success(()) }
            guard let translated = YAMLEvent(event) else { continue }
            do throws(YAMLError) {
                try body(translated)
            } catch {
                return .failure(error)
            }
        }
    }
    try result.get()
}

private func parserError(_ parser: yaml_parser_t, bytes: UnsafeBufferPointer<UInt8>) -> YAMLError {
    // At the end of a text without a final line break, libyaml moves its marks to a line
    // after the last one; the operator's file ends on its last line.
    let end = YAMLMark(offset: bytes.count, in: bytes)
    let inText = { (mark: YAMLMark) in mark.line > end.line ? end : mark }
    var message = parser.problem.map { String(cString: $0) } ?? "libyaml failed without saying why"
    if let context = parser.context {
        message += " (\(String(cString: context)) starting on line \(inText(YAMLMark(parser.context_mark)).line))"
    }
    // The reader (bad characters) reports a byte offset, not a mark.
    let mark = parser.error == YAML_READER_ERROR
        ? YAMLMark(offset: parser.problem_offset, in: bytes)
        : YAMLMark(parser.problem_mark)
    return YAMLError(at: inText(mark), message)
}

extension YAMLMark {
    init(_ mark: yaml_mark_t) {
        self.init(line: Int(mark.line) + 1, column: Int(mark.column) + 1)
    }

    init(offset: Int, in bytes: UnsafeBufferPointer<UInt8>) {
        let before = bytes.prefix(min(offset, bytes.count))
        let lineStart = before.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? 0
        self.init(
            line: before.count(where: { $0 == UInt8(ascii: "\n") }) + 1,
            column: before.count - lineStart + 1
        )
    }
}

extension YAMLEvent {
    /// Nil for the events that carry nothing the tree needs (stream start and end).
    init?(_ event: yaml_event_t) {
        let mark = YAMLMark(event.start_mark)
        switch event.type {
        case YAML_DOCUMENT_START_EVENT:
            self = .documentStart(mark)
        case YAML_DOCUMENT_END_EVENT:
            self = .documentEnd
        case YAML_SCALAR_EVENT:
            let scalar = event.data.scalar
            self = .scalar(
                String(decoding: UnsafeBufferPointer(start: scalar.value, count: scalar.length), as: UTF8.self),
                style: YAMLScalarStyle(scalar.style),
                tag: scalar.tag.map { String(cString: $0) },
                mark: mark
            )
        case YAML_ALIAS_EVENT:
            self = .alias(anchor: String(cString: event.data.alias.anchor), mark: mark)
        case YAML_SEQUENCE_START_EVENT:
            self = .sequenceStart(tag: event.data.sequence_start.tag.map { String(cString: $0) }, mark: mark)
        case YAML_SEQUENCE_END_EVENT:
            self = .sequenceEnd
        case YAML_MAPPING_START_EVENT:
            self = .mappingStart(tag: event.data.mapping_start.tag.map { String(cString: $0) }, mark: mark)
        case YAML_MAPPING_END_EVENT:
            self = .mappingEnd
        default:
            return nil
        }
    }
}

extension YAMLScalarStyle {
    init(_ style: yaml_scalar_style_t) {
        switch style {
        case YAML_SINGLE_QUOTED_SCALAR_STYLE: self = .singleQuoted
        case YAML_DOUBLE_QUOTED_SCALAR_STYLE: self = .doubleQuoted
        case YAML_LITERAL_SCALAR_STYLE: self = .literal
        case YAML_FOLDED_SCALAR_STYLE: self = .folded
        default: self = .plain
        }
    }
}
