import AutoTaintCore
import Foundation
import Testing
@testable import NodeMetrics

/// MemTotal and MemAvailable from /proc/meminfo, read without libproc2.
private func meminfoFigures() throws -> MemoryFigures {
    let text = try String(contentsOfFile: "/proc/meminfo", encoding: .utf8)
    func kilobytes(_ key: String) throws -> UInt64 {
        let line = try #require(text.split(separator: "\n").first { $0.hasPrefix(key + ":") })
        return try #require(UInt64(line.split(separator: " ")[1]))
    }
    return MemoryFigures(total: try kilobytes("MemTotal"), available: try kilobytes("MemAvailable"))
}

@Test func firstCPUReadHasNoValueAndTheNextHasOne() async throws {
    let sampler = ProcSampler()
    let first = await sampler.sample([.cpu])
    #expect(throws: NoSample(source: .proc, reason: "no_previous_read",
                             detail: "CPU usage needs two reads of /proc/stat; the next tick has a value")) {
        try first[.cpu]?.get()
    }
    try await Task.sleep(for: .milliseconds(1100))
    let second = try #require(try await sampler.sample([.cpu])[.cpu]?.get())
    #expect(second.source == .proc)
    #expect((0...100).contains(second.percent))
}

@Test func memoryAgreesWithMeminfo() async throws {
    let sample = try #require(try await ProcSampler().sample([.memory])[.memory]?.get())
    let expected = try meminfoFigures().usedPercent().get()
    #expect(abs(sample.percent - expected) < 2, "libproc2 \(sample.percent)% vs /proc/meminfo \(expected)%")
}

@Test func onlyTheAskedSignalsAreSampled() async {
    let results = await ProcSampler().sample([.memory])
    #expect(Array(results.keys) == [.memory])
}
