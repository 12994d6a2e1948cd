import Glibc

/// Says whether a file may have changed since it was last asked, from inotify: one
/// non-blocking read(2) on a quiet tick, where a stat(2) walks the whole path (16-22 µs of
/// the tick here, the most expensive system call of a quiet one after /proc/stat).
///
/// It watches the directory of the path, the directory of the file the path resolves to,
/// and that file: a ConfigMap volume's `config.yaml` is a symlink through `..data`, which
/// kubelet swaps by a rename in the first directory; a file replaced shows in the second;
/// a file edited in place shows on the file itself, also when the write came through
/// another path to it (a single-file bind mount edited on the host is such a write, which
/// no directory of the container hears of). After any event the watches are added again,
/// because the resolved directory and file may be new ones (adding a watch twice keeps
/// one; a watched directory or file that is deleted drops its watch, with one last event).
/// Any doubt (a full event queue, a broken watch) counts as a change: the caller then
/// reads the file and compares, which is always right.
final class FileChangeNotifier: @unchecked Sendable {
    // @unchecked: used by the one task that owns its ConfigReloader.
    private let path: String
    private let descriptor: Int32
    /// False after setting up the watches failed: until they are back, every call is a change.
    private var armed = true
    private var buffer = [UInt8](repeating: 0, count: 4096)

    private static let events = UInt32(
        IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM | IN_CLOSE_WRITE | IN_MODIFY | IN_ATTRIB
            | IN_DELETE_SELF | IN_MOVE_SELF)
    private static let fileEvents = UInt32(IN_CLOSE_WRITE | IN_MODIFY | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF)

    /// Throws when inotify cannot be used: no instance or watch left under the user's
    /// limits (fs.inotify.max_user_instances, max_user_watches), a directory that cannot be
    /// watched.
    init(path: String) throws(FileChangeNotifierError) {
        self.path = path
        descriptor = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard descriptor >= 0 else { throw FileChangeNotifierError(errorNumber: errno) }
        do {
            try watchDirectories()
        } catch {
            close(descriptor)
            throw error
        }
    }

    deinit {
        close(descriptor)
    }

    /// True when something happened to a watched directory or the file since the last
    /// call, or the watches are not all in place.
    func changed() -> Bool {
        var happened = false
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count > 0 {
                happened = true
                continue
            }
            if count < 0, errno == EINTR { continue }
            // EAGAIN: drained. Anything else is doubt, which is a change.
            if count < 0, errno != EAGAIN { happened = true }
            break
        }
        if happened || !armed {
            do {
                try watchDirectories()
                armed = true
            } catch {
                armed = false
            }
        }
        return happened || !armed
    }

    private func watchDirectories() throws(FileChangeNotifierError) {
        var directories = [Self.directory(of: path)]
        if let resolved = realpath(path, nil) {
            directories.append(Self.directory(of: String(cString: resolved)))
            free(resolved)
        }
        for directory in Set(directories) {
            guard inotify_add_watch(descriptor, directory, Self.events) >= 0 else {
                throw FileChangeNotifierError(errorNumber: errno)
            }
        }
        // A missing file is no failure: its directory hears of its creation.
        guard inotify_add_watch(descriptor, path, Self.fileEvents) >= 0 || errno == ENOENT else {
            throw FileChangeNotifierError(errorNumber: errno)
        }
    }

    private static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}

/// Why inotify cannot watch the config, in the system's words.
struct FileChangeNotifierError: Error, CustomStringConvertible {
    let errorNumber: Int32

    var description: String { String(cString: strerror(errorNumber)) }
}
