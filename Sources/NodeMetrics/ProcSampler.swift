import AutoTaintCore
import CProcps
import Glibc

/// Reads the whole node's CPU and memory usage from /proc through libproc2.
///
/// CPU usage is the busy share of the ticks between two reads, so the first read of a
/// run (and the first after a failed one) gives no value. Owned by one task: it keeps
/// the previous counters and libproc2's handles between calls.
public final class ProcSampler: Sampler {
    private var stat: OpaquePointer?
    private var meminfo: OpaquePointer?
    private var previousTicks: CPUTicks?

    public init() {}

    deinit {
        if stat != nil { procps_stat_unref(&stat) }
        if meminfo != nil { procps_meminfo_unref(&meminfo) }
    }

    public func sample(_ signals: [SignalKind]) async -> [SignalKind: Result<Sample, NoSample>] {
        var results: [SignalKind: Result<Sample, NoSample>] = [:]
        for signal in signals {
            switch signal {
            case .cpu: results[.cpu] = cpuSample()
            case .memory: results[.memory] = memorySample()
            }
        }
        return results
    }

    private func cpuSample() -> Result<Sample, NoSample> {
        let now: CPUTicks
        switch readTicks() {
        case let .success(ticks): now = ticks
        case let .failure(noSample):
            // The next delta must not span the failed read: start over from a fresh one.
            previousTicks = nil
            return .failure(noSample)
        }
        defer { previousTicks = now }
        guard let previousTicks else {
            return .failure(NoSample(
                source: .proc, reason: "no_previous_read",
                detail: "CPU usage needs two reads of /proc/stat; the next tick has a value"))
        }
        return now.busyPercent(since: previousTicks)
            .map { Sample(percent: $0, source: .proc) }
            .mapError { NoSample(source: .proc, reason: $0.label, detail: $0.description) }
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
