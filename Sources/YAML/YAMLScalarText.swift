/// Writes `string` as a YAML scalar that any YAML parser reads back as exactly that
/// string, in block or flow context: plain when nothing could be misread (`NoSchedule`,
/// `autotaint.dev/cpu-pressure`), single-quoted when that spares backslashes (a PromQL
/// query full of `"`), double-quoted with escapes otherwise (`""`, `"true"`, `":9469"`).
public func yamlScalarText(_ string: String) -> String {
    if isSafePlain(string) { return string }
    if string.contains(where: { $0 == "\"" || $0 == "\\" }) && string.unicodeScalars.allSatisfy(isSingleLinePrintable) {
        return "'" + string.replacing("'", with: "''") + "'"
    }
    return "\"" + string.unicodeScalars.map(doubleQuotedEscape).joined() + "\""
}

/// Words a YAML 1.1 or 1.2 parser could take for a boolean or null.
private let reservedPlainWords: Set<String> = ["true", "false", "yes", "no", "on", "off", "y", "n", "null", "~"]

private func isSafePlain(_ string: String) -> Bool {
    guard let first = string.unicodeScalars.first, isASCIILetter(first) else { return false }
    return string.unicodeScalars.allSatisfy { isASCIILetter($0) || ("0"..."9").contains($0) || "-_./".unicodeScalars.contains($0) }
        && !reservedPlainWords.contains(string.lowercased())
}

private func isASCIILetter(_ scalar: Unicode.Scalar) -> Bool {
    ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar)
}

/// libyaml's printable set minus tab and line breaks, which quoting would fold or lose.
private func isSingleLinePrintable(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar.value {
    case 0x2028, 0x2029, 0xFEFF: false
    case 0x20...0x7E, 0xA0...0xD7FF, 0xE000...0xFFFD, 0x10000...0x10FFFF: true
    default: false
    }
}

private func doubleQuotedEscape(_ scalar: Unicode.Scalar) -> String {
    switch scalar {
    case "\\": return "\\\\"
    case "\"": return "\\\""
    case _ where isSingleLinePrintable(scalar): return String(scalar)
    case _ where scalar.value <= 0xFFFF: return "\\u" + hex(scalar.value, digits: 4)
    default: return "\\U" + hex(scalar.value, digits: 8)
    }
}

private func hex(_ value: UInt32, digits: Int) -> String {
    let text = String(value, radix: 16, uppercase: true)
    return String(repeating: "0", count: digits - text.count) + text
}
