import Glibc

/// A file that could not be read, with the system's reason (`No such file or directory`).
public struct FileReadError: Error, Sendable, Equatable, CustomStringConvertible {
    public var path: String
    public var reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String { "\(path): cannot read: \(reason)" }
}

/// Reads small whole files (config, kubeconfig, service account token) with open/read,
/// so that a failure says why in the system's words.
public enum FileContents {
    public static func bytes(of path: String) throws(FileReadError) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw FileReadError(path: path, reason: String(cString: strerror(errno))) }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count == 0 { break }
            if count < 0 {
                if errno == EINTR { continue }
                throw FileReadError(path: path, reason: String(cString: strerror(errno)))
            }
            bytes += chunk[..<count]
        }
        return bytes
    }

    /// The file as UTF-8 text (invalid sequences become U+FFFD).
    public static func text(of path: String) throws(FileReadError) -> String {
        String(decoding: try bytes(of: path), as: UTF8.self)
    }
}
