/// Cuts a byte stream into lines at `\n` (dropping a `\r` before it), keeping an
/// unfinished line until the rest of it arrives.
public struct LineSplitter: Sendable {
    private var partial: [UInt8] = []

    public init() {}

    /// The lines `chunk` completes, in order, without their line ends; empty lines included.
    public mutating func append(_ chunk: some Collection<UInt8>) -> [[UInt8]] {
        var lines: [[UInt8]] = []
        var start = chunk.startIndex
        while let newline = chunk[start...].firstIndex(of: UInt8(ascii: "\n")) {
            partial.append(contentsOf: chunk[start..<newline])
            if partial.last == UInt8(ascii: "\r") { partial.removeLast() }
            lines.append(partial)
            partial.removeAll(keepingCapacity: true)
            start = chunk.index(after: newline)
        }
        partial.append(contentsOf: chunk[start...])
        return lines
    }

    /// The last line when the stream ended without a line end, else nil.
    public mutating func finish() -> [UInt8]? {
        defer { partial = [] }
        return partial.isEmpty ? nil : partial
    }
}
