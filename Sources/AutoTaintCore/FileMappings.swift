/// The read-only views of files in a process's address space, from proc(5)'s
/// /proc/PID/maps: `start-end perms offset dev inode path`, addresses in hex.
///
/// These are the pages the kernel can drop and read back from the file at will (code,
/// constants), unlike writable or anonymous memory; a page of them written before the
/// mapping was made read-only (relocated data) is the kernel's to tell apart.
public enum FileMappings {
    public struct Region: Equatable, Sendable {
        public var start: UInt
        public var end: UInt
        public var path: String

        public init(start: UInt, end: UInt, path: String) {
            self.start = start
            self.end = end
            self.path = path
        }

        public var length: UInt { end - start }
    }

    /// The regions that are private, not writable and backed by a file (a path, and an
    /// inode other than 0: not the heap, the stack, `[vdso]` or an anonymous mapping).
    /// A line that does not have the shape of one is skipped, not guessed at.
    public static func readOnlyFileRegions(maps text: String) -> [Region] {
        text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
            guard fields.count == 6 else { return nil }
            let perms = fields[1]
            guard perms.count == 4, perms.hasPrefix("r"), !perms.contains("w"), perms.hasSuffix("p"),
                  fields[4] != "0"
            else { return nil }
            let path = fields[5].drop { $0 == " " }
            guard path.hasPrefix("/"), !path.hasSuffix(" (deleted)") else { return nil }
            let bounds = fields[0].split(separator: "-")
            guard bounds.count == 2, let start = UInt(bounds[0], radix: 16), let end = UInt(bounds[1], radix: 16),
                  start < end
            else { return nil }
            return Region(start: start, end: end, path: String(path))
        }
    }
}
