import AutoTaintCore
import LibFuzzerDriver

/// Fuzz target: the input as 18 little-endian UInt64 counters (missing bytes are 0):
/// two `CPUTicks` readings (earlier, then now) and a `MemoryFigures` (total, available).
/// This covers our counter arithmetic only; libproc2 parses /proc itself and is not
/// fuzzed here. Every outcome must be a percentage in 0...100 or the documented reason
/// for having none.
LibFuzzer.run { bytes in
    var reader = CounterReader(bytes: bytes)
    let earlier = reader.ticks()
    let now = reader.ticks()
    switch now.busyPercent(since: earlier) {
    case .success(let percent):
        require((0...100).contains(percent), "busy \(percent)% from \(earlier) to \(now)")
    case .failure(.counterWentBackwards(let field, let from, let to)):
        require(to < from, "\(field) did not go backwards: \(from) to \(to)")
    case .failure(.noTicksElapsed):
        require(now == earlier, "ticks elapsed from \(earlier) to \(now)")
    case .failure(let other):
        finding("CPU ticks gave \(other)")
    }
    let memory = MemoryFigures(total: reader.next(), available: reader.next())
    switch memory.usedPercent() {
    case .success(let percent):
        require((0...100).contains(percent), "used \(percent)% of \(memory)")
    case .failure(.noMemoryTotal):
        require(memory.total == 0, "\(memory) has a total")
    case .failure(.availableExceedsTotal):
        require(memory.available > memory.total, "\(memory) has available <= total")
    case .failure(let other):
        finding("memory gave \(other)")
    }
}

/// Reads the input 8 bytes at a time; past its end, zeros.
private struct CounterReader {
    let bytes: UnsafeBufferPointer<UInt8>
    var offset = 0

    mutating func next() -> UInt64 {
        var value: UInt64 = 0
        for shift in 0..<8 where offset + shift < bytes.count {
            value |= UInt64(bytes[offset + shift]) << (8 * shift)
        }
        offset += 8
        return value
    }

    mutating func ticks() -> CPUTicks {
        CPUTicks(
            user: next(), nice: next(), system: next(), idle: next(),
            iowait: next(), irq: next(), softirq: next(), steal: next()
        )
    }
}
