import AutoTaintCore
import Glibc
import Logging

/// Gives back, once the agent is up, the file pages only its start-up needed.
///
/// Starting touches code and constants it will not run again (argument and config
/// parsing, the kubeconfig, the TLS handshake's certificate checks, every library's
/// initializers), and the kernel maps code in 64 KiB windows around each page touched,
/// so after start-up most of the agent's resident memory is file pages nothing uses.
/// `MADV_PAGEOUT` (Linux 5.4) asks the kernel to reclaim the read-only file pages of
/// this process now rather than under memory pressure: a page another process also
/// maps stays, one only the agent maps leaves the page cache too. What the agent still
/// runs comes back at its next touch, a minor fault (or a read of the file if the page
/// left the cache); in the bench 20–30 minor and 4–10 major faults from 20 s to 120 s
/// after the start, few after the first minute.
public enum StartupPages {
    /// Advises every read-only file mapping and logs the resident memory before and
    /// after. A kernel without `MADV_PAGEOUT` (EINVAL) or a mapping the kernel will not
    /// reclaim (locked) leaves those pages as they were: logged, never a failure.
    public static func release(logger: Logger, maps: String = "/proc/self/maps", stat: String = "/proc/self/stat") {
        let text: String
        do {
            text = try FileContents.text(of: maps)
        } catch {
            logger.info("start-up pages kept", metadata: ["error": "\(error)"])
            return
        }
        let before = residentBytes(stat)
        var advised: UInt = 0
        var refused: [(path: String, error: Int32)] = []
        for region in FileMappings.readOnlyFileRegions(maps: text) {
            if madvise(UnsafeMutableRawPointer(bitPattern: region.start), Int(region.length), MADV_PAGEOUT) == 0 {
                advised += region.length
            } else {
                refused.append((region.path, errno))
            }
        }
        var metadata: Logger.Metadata = [
            "advisedMiB": "\(mebibytes(Double(advised)))",
            "residentMiBBefore": "\(before.map(mebibytes) ?? "unknown")",
            "residentMiBAfter": "\(residentBytes(stat).map(mebibytes) ?? "unknown")",
        ]
        if let (path, error) = refused.first {
            metadata["refused"] = "\(refused.count) mappings, e.g. \(path): \(String(cString: strerror(error)))"
        }
        logger.info("start-up file pages released", metadata: metadata)
    }

    private static func residentBytes(_ stat: String) -> Double? {
        guard let text = try? FileContents.text(of: stat) else { return nil }
        return ProcessStats.residentBytes(statLine: text, pageSize: Double(sysconf(Int32(_SC_PAGESIZE))))
    }

    /// `22.6`: a tenth of a MiB is what the footprint target is judged by.
    private static func mebibytes(_ bytes: Double) -> String {
        let tenths = Int((bytes / 1_048_576 * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }
}
