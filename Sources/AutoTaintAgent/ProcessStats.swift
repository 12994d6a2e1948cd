import AutoTaintCore
import CoreMetrics
import Glibc
import Synchronization

/// The agent's own CPU time and resident memory under the names every Prometheus client
/// library exports (`process_cpu_seconds_total`, `process_resident_memory_bytes`), so the
/// dashboard's "agent's own cost" panels need no cAdvisor. Read from /proc/self/stat at
/// each scrape, never on the tick: between scrapes it costs nothing.
public final class ProcessStats: Sendable {
    public static let cpuSecondsName = "process_cpu_seconds_total"
    public static let residentBytesName = "process_resident_memory_bytes"

    /// What /proc/PID/stat says of a process's cost.
    public struct Reading: Equatable, Sendable {
        public var cpuSeconds: Double
        public var residentBytes: Double
    }

    private let path: String
    private let factory: any MetricsFactory
    // The counter only goes up by increments; this is what it has been given so far.
    private let counted = Mutex<Double>(0)

    public init(factory: any MetricsFactory, path: String = "/proc/self/stat") {
        self.path = path
        self.factory = factory
    }

    /// Reads the file and records it; an unreadable or malformed file leaves the last values
    /// (and before a first reading there are no series, rather than a false 0).
    public func update() {
        guard let text = try? FileContents.text(of: path),
              let reading = Self.parse(text, ticksPerSecond: Double(sysconf(Int32(_SC_CLK_TCK))),
                                       pageSize: Double(sysconf(Int32(_SC_PAGESIZE))))
        else { return }
        let increment = counted.withLock { counted in
            defer { counted = max(counted, reading.cpuSeconds) }
            return max(0, reading.cpuSeconds - counted)
        }
        FloatingPointCounter(label: Self.cpuSecondsName, factory: factory).increment(by: increment)
        Gauge(label: Self.residentBytesName, factory: factory).record(reading.residentBytes)
    }

    /// The fields of proc(5)'s /proc/PID/stat: utime (14) and stime (15) in clock ticks,
    /// rss (24) in pages. The command name (2) may hold spaces and parentheses, so the
    /// fields are counted from its last `)`.
    public static func parse(_ text: String, ticksPerSecond: Double, pageSize: Double) -> Reading? {
        guard let close = text.lastIndex(of: ")") else { return nil }
        // After the name: state is field 3, so field N is at index N - 3.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 21, let user = Double(fields[11]), let system = Double(fields[12]),
              let pages = Double(fields[21]), ticksPerSecond > 0
        else { return nil }
        return Reading(cpuSeconds: (user + system) / ticksPerSecond, residentBytes: pages * pageSize)
    }
}
