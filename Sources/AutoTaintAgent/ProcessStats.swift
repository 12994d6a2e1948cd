import AutoTaintCore
import CoreMetrics
import Glibc
import Synchronization

/// The agent's own CPU time and resident memory under the names every Prometheus client
/// library exports (`process_cpu_seconds_total`, `process_resident_memory_bytes`), so the
/// dashboard's "agent's own cost" panels need no cAdvisor. Read at each scrape, never on
/// the tick: between scrapes they cost nothing. CPU time comes from
/// `CLOCK_PROCESS_CPUTIME_ID` (ns), not from /proc's 10 ms clock ticks, which round a
/// quiet agent's first seconds to 0.
public final class ProcessStats: Sendable {
    public static let cpuSecondsName = "process_cpu_seconds_total"
    public static let residentBytesName = "process_resident_memory_bytes"

    private let statPath: String
    private let factory: any MetricsFactory
    // The counter only goes up by increments; this is what it has been given so far.
    private let counted = Mutex<Double>(0)

    public init(factory: any MetricsFactory, statPath: String = "/proc/self/stat") {
        self.statPath = statPath
        self.factory = factory
    }

    /// Records this process's CPU time and resident memory. A source that cannot be read
    /// leaves that series as it was (and before a first reading there is none, rather
    /// than a false 0).
    public func update() {
        var now = timespec()
        if clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now) == 0 {
            let cpuSeconds = Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
            let increment = counted.withLock { counted in
                defer { counted = max(counted, cpuSeconds) }
                return max(0, cpuSeconds - counted)
            }
            FloatingPointCounter(label: Self.cpuSecondsName, factory: factory).increment(by: increment)
        }
        if let text = try? FileContents.text(of: statPath),
           let bytes = Self.residentBytes(statLine: text, pageSize: Double(sysconf(Int32(_SC_PAGESIZE)))) {
            Gauge(label: Self.residentBytesName, factory: factory).record(bytes)
        }
    }

    /// Field 24 of proc(5)'s /proc/PID/stat, rss in pages, in bytes. The command name
    /// (field 2) may hold spaces and parentheses, so the fields are counted from its last `)`.
    public static func residentBytes(statLine text: String, pageSize: Double) -> Double? {
        guard let close = text.lastIndex(of: ")") else { return nil }
        // After the name: state is field 3, so field N is at index N - 3.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 21, let pages = Double(fields[21]) else { return nil }
        return pages * pageSize
    }
}
