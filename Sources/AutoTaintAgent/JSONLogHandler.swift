import FoundationEssentials
import Glibc
import Logging

/// A swift-log handler that writes one JSON object per line to standard error:
/// `{"time":…,"level":…,"msg":…, <metadata>}`. Each line goes out in one `write(2)`, so
/// lines from concurrent tasks never interleave and nothing waits in a buffer.
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String

    public init(label: String, metadataProvider: Logger.MetadataProvider? = nil) {
        self.label = label
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields = metadata
        if let provided = metadataProvider?.get() { fields.merge(provided) { $1 } }
        if let extra = event.metadata { fields.merge(extra) { $1 } }
        if let error = event.error { fields["error"] = "\(error)" }

        var line = "{\"time\":"
        appendJSON(Date.now.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true)), to: &line)
        line += ",\"level\":"
        appendJSON(event.level.rawValue, to: &line)
        line += ",\"logger\":"
        appendJSON(label, to: &line)
        line += ",\"msg\":"
        appendJSON(event.message.description, to: &line)
        for (key, value) in fields.sorted(by: { $0.key < $1.key }) {
            line += ","
            appendJSON(key, to: &line)
            line += ":"
            appendJSON(value, to: &line)
        }
        line += "}\n"
        var bytes = Array(line.utf8)
        _ = bytes.withUnsafeMutableBytes { Glibc.write(STDERR_FILENO, $0.baseAddress, $0.count) }
    }
}

func appendJSON(_ value: Logger.Metadata.Value, to out: inout String) {
    switch value {
    case let .string(text): appendJSON(text, to: &out)
    case let .stringConvertible(convertible): appendJSON(convertible.description, to: &out)
    case let .array(items):
        out += "["
        for (index, item) in items.enumerated() {
            if index > 0 { out += "," }
            appendJSON(item, to: &out)
        }
        out += "]"
    case let .dictionary(entries):
        out += "{"
        for (index, (key, item)) in entries.sorted(by: { $0.key < $1.key }).enumerated() {
            if index > 0 { out += "," }
            appendJSON(key, to: &out)
            out += ":"
            appendJSON(item, to: &out)
        }
        out += "}"
    }
}

/// Appends `text` as a JSON string literal (RFC 8259: quote, backslash and control
/// characters escaped).
func appendJSON(_ text: String, to out: inout String) {
    out += "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case let control where control.value < 0x20:
            let hex = String(control.value, radix: 16)
            out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default: out.unicodeScalars.append(scalar)
        }
    }
    out += "\""
}
