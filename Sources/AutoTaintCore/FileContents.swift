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

/// What stat(2) says of a file's identity and last change, to tell a changed file from an
/// unchanged one without reading it. stat follows symlinks, so kubelet's swap of a ConfigMap
/// volume's `..data` link shows as another inode.
public struct FileStamp: Equatable, Sendable {
    let device: UInt64
    let inode: UInt64
    let size: Int64
    let modified: timespec
    let changed: timespec

    /// nil when the file cannot be stat'ed; reading it then says why.
    public init?(path: String) {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        self.init(device: UInt64(status.st_dev), inode: UInt64(status.st_ino), size: Int64(status.st_size),
                  modified: status.st_mtim, changed: status.st_ctim)
    }

    init(device: UInt64, inode: UInt64, size: Int64, modified: timespec, changed: timespec) {
        self.device = device
        self.inode = inode
        self.size = size
        self.modified = modified
        self.changed = changed
    }

    /// Whether an equal stamp proves equal contents at wall-clock second `now`. A file
    /// changed twice within one tick of the kernel's timestamp clock, with its size kept,
    /// keeps its stamp; so, as git does with a "racily clean" index entry, a stamp is
    /// trusted only once its last change is two seconds old.
    public func isSettled(atWallSecond now: Int) -> Bool {
        now - max(modified.tv_sec, changed.tv_sec) >= 2
    }

    public static func == (lhs: FileStamp, rhs: FileStamp) -> Bool {
        lhs.device == rhs.device && lhs.inode == rhs.inode && lhs.size == rhs.size
            && lhs.modified.tv_sec == rhs.modified.tv_sec && lhs.modified.tv_nsec == rhs.modified.tv_nsec
            && lhs.changed.tv_sec == rhs.changed.tv_sec && lhs.changed.tv_nsec == rhs.changed.tv_nsec
    }
}
