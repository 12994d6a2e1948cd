import AutoTaintCore
import CProcps
import Glibc

/// Reads the whole node's CPU and memory usage from /proc through libproc2, and its CPU
/// stall from /proc/pressure/cpu (libproc2 has no reader for it: one pread on a
/// descriptor kept open).
///
/// CPU usage and stall are shares of what elapsed between two reads, so the first read of
/// a run (and the first after a failed one) gives no value. Both are read on the same
/// tick, one right after the other, so the throttling gate compares like with like.
/// Owned by one task: it keeps the previous counters, libproc2's handles and the
/// descriptor between calls.
public final class ProcSampler: Sampler {
    private var stat: OpaquePointer?
    private var meminfo: OpaquePointer?
    private var previousTicks: CPUTicks?
    private let pressurePath: String
    private var pressure: Int32 = -1
    private var previousStall: StallReading?
    private var pressureBuffer = [UInt8](repeating: 0, count: 256)

    /// `pressurePath`: the PSI file (tests point it elsewhere).
    public init(pressurePath: String = "/proc/pressure/cpu") {
        self.pressurePath = pressurePath
    }

    deinit {
        if stat != nil { procps_stat_unref(&stat) }
        if meminfo != nil { procps_meminfo_unref(&meminfo) }
        if pressure >= 0 { close(pressure) }
    }

    public func sample(_ signals: [SignalKind]) async -> [SignalKind: Result<Sample, NoSample>] {
        var results: [SignalKind: Result<Sample, NoSample>] = [:]
        let usage = signals.contains(.cpu) || signals.contains(.cpuContention) ? cpuSample() : nil
        if signals.contains(.cpu) { results[.cpu] = usage }
        if signals.contains(.memory) { results[.memory] = memorySample() }
        if let usage, signals.contains(.cpuContention) { results[.cpuContention] = stallSample(usage: usage) }
        return results
    }

    /// The stall share, with the CPU usage of the same interval for the throttling gate;
    /// without a usage value there is no stall value either (the gate could not judge it).
    private func stallSample(usage: Result<Sample, NoSample>) -> Result<Sample, NoSample> {
        Self.share(of: readStall(), since: &previousStall, what: "CPU stall needs two reads of \(pressurePath)") {
            $0.stallPercent(since: $1)
        }
        .flatMap { stall in usage.map { Sample(percent: stall, source: .proc, cpuUsagePercent: $0.percent) } }
    }

    /// Why this machine's CPU stall cannot be read, or nil when it can (one read now).
    public static func stallProblem(pressurePath: String = "/proc/pressure/cpu") -> NoSample? {
        guard case let .failure(problem) = ProcSampler(pressurePath: pressurePath).readStall() else { return nil }
        return problem
    }

    private func readStall() -> Result<StallReading, NoSample> {
        if pressure < 0 {
            pressure = open(pressurePath, O_RDONLY | O_CLOEXEC)
            guard pressure >= 0 else {
                let error = errno
                guard error == ENOENT else { return .failure(readFailed(pressurePath, errorNumber: error)) }
                return .failure(NoSample(
                    source: .proc, reason: NoSample.noPSI,
                    detail: "\(pressurePath) does not exist: the kernel has no PSI (built without CONFIG_PSI, or "
                        + "booted with psi=0; CONFIG_PSI_DEFAULT_DISABLED needs psi=1 on the kernel command line)"))
            }
        }
        // seq_file: a read at offset 0 makes the kernel write the file afresh.
        let count = pressureBuffer.withUnsafeMutableBytes { pread(pressure, $0.baseAddress, $0.count, 0) }
        var clock = timespec()
        clock_gettime(CLOCK_MONOTONIC, &clock)
        guard count >= 0 else {
            let failure = readFailed(pressurePath, errorNumber: errno)
            close(pressure)
            pressure = -1
            return .failure(failure)
        }
        let text = String(decoding: pressureBuffer[..<count], as: UTF8.self)
        let at = UInt64(clock.tv_sec) * 1_000_000 + UInt64(clock.tv_nsec) / 1_000
        do throws(UsageUnavailable) {
            return .success(try StallReading(pressureText: text, at: at))
        } catch {
            return .failure(NoSample(source: .proc, reason: error.label, detail: error.description))
        }
    }

    private func cpuSample() -> Result<Sample, NoSample> {
        Self.share(of: readTicks(), since: &previousTicks, what: "CPU usage needs two reads of /proc/stat") {
            $0.busyPercent(since: $1)
        }
        .map { Sample(percent: $0, source: .proc) }
    }

    /// A share of what elapsed between the previous read of a counter and `read`. The first
    /// read of a run has none; a failed read starts over, so the next delta never spans it.
    private static func share<Reading>(
        of read: Result<Reading, NoSample>, since previous: inout Reading?, what: String,
        _ delta: (Reading, Reading) -> Result<Double, UsageUnavailable>
    ) -> Result<Double, NoSample> {
        let earlier = previous
        previous = try? read.get()
        return read.flatMap { now in
            guard let earlier else {
                return .failure(NoSample(source: .proc, reason: "no_previous_read", detail: "\(what); the next tick has a value"))
            }
            return delta(now, earlier).mapError { NoSample(source: .proc, reason: $0.label, detail: $0.description) }
        }
    }

    private func readTicks() -> Result<CPUTicks, NoSample> {
        var items = [
            STAT_TIC_USER, STAT_TIC_NICE, STAT_TIC_SYSTEM, STAT_TIC_IDLE,
            STAT_TIC_IOWAIT, STAT_TIC_IRQ, STAT_TIC_SOFTIRQ, STAT_TIC_STOLEN,
        ]
        if stat == nil {
            let code = procps_stat_new(&stat)
            guard code >= 0, stat != nil else {
                stat = nil
                return .failure(readFailed("/proc/stat", errorNumber: -code))
            }
        }
        // select re-reads /proc/stat on every call (get would serve a cached read for up
        // to a second) and returns all counters from that one read.
        guard let stack = procps_stat_select(stat, &items, Int32(items.count)), let head = stack.pointee.head
        else {
            let failure = readFailed("/proc/stat", errorNumber: errno)
            procps_stat_unref(&stat)
            return .failure(failure)
        }
        func tick(_ index: Int) -> UInt64 { UInt64(head[index].result.ull_int) }
        return .success(CPUTicks(
            user: tick(0), nice: tick(1), system: tick(2), idle: tick(3),
            iowait: tick(4), irq: tick(5), softirq: tick(6), steal: tick(7)))
    }

    private func memorySample() -> Result<Sample, NoSample> {
        var items = [MEMINFO_MEM_TOTAL, MEMINFO_MEM_AVAILABLE]
        if meminfo == nil {
            let code = procps_meminfo_new(&meminfo)
            guard code >= 0, meminfo != nil else {
                meminfo = nil
                return .failure(readFailed("/proc/meminfo", errorNumber: -code))
            }
        }
        guard let stack = procps_meminfo_select(meminfo, &items, Int32(items.count)), let head = stack.pointee.head
        else {
            let failure = readFailed("/proc/meminfo", errorNumber: errno)
            procps_meminfo_unref(&meminfo)
            return .failure(failure)
        }
        let figures = MemoryFigures(total: UInt64(head[0].result.ul_int), available: UInt64(head[1].result.ul_int))
        return figures.usedPercent()
            .map { Sample(percent: $0, source: .proc) }
            .mapError { NoSample(source: .proc, reason: $0.label, detail: $0.description) }
    }

    private func readFailed(_ path: String, errorNumber: Int32) -> NoSample {
        NoSample(source: .proc, reason: "read_failed", detail: "\(path): \(String(cString: strerror(errorNumber)))")
    }
}
