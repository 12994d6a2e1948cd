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

/// A stand-in for /proc/pressure/cpu that the test rewrites between reads.
private final class PressureFile {
    let path = FileManager.default.temporaryDirectory.appending(path: "pressure-\(UUID().uuidString)").path

    func write(total: UInt64) throws {
        try "some avg10=0.00 avg60=0.00 avg300=0.00 total=\(total)\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
            .write(toFile: path, atomically: false, encoding: .utf8)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

@Test func cpuStallIsTheSomeCounterOverTheWallTimeBetweenTwoReads() async throws {
    let file = PressureFile()
    try file.write(total: 1_000_000)
    let sampler = ProcSampler(pressurePath: file.path)
    let first = await sampler.sample([.cpuContention])
    #expect((try? first[.cpuContention]?.get()) == nil)
    try await Task.sleep(for: .milliseconds(1100))
    // 100 s of stall in a second or so of wall time: capped at 100.
    try file.write(total: 101_000_000)
    let second = try #require(try await sampler.sample([.cpuContention])[.cpuContention]?.get())
    #expect(second.percent == 100)
    #expect(second.cpuUsagePercent.map { (0...100).contains($0) } == true)
    try await Task.sleep(for: .milliseconds(1100))
    let idle = try #require(try await sampler.sample([.cpuContention])[.cpuContention]?.get())
    #expect(idle.percent == 0)
}

@Test func aStallCounterResetGivesNoValueAndTheNextReadHasOne() async throws {
    let file = PressureFile()
    try file.write(total: 9_000_000)
    let sampler = ProcSampler(pressurePath: file.path)
    _ = await sampler.sample([.cpuContention])
    try await Task.sleep(for: .milliseconds(1100))
    try file.write(total: 10)
    let reset = await sampler.sample([.cpuContention])
    #expect(throws: NoSample.self) { try reset[.cpuContention]?.get() }
    if case let .failure(miss)? = reset[.cpuContention] { #expect(miss.reason == "counter_reset") }
    try await Task.sleep(for: .milliseconds(1100))
    try file.write(total: 20)
    #expect((try? await sampler.sample([.cpuContention])[.cpuContention]?.get()) != nil)
}

@Test func noPressureFileMeansNoPSIWithHowToFixItAndTheOtherSignalsGoOn() async throws {
    let sampler = ProcSampler(pressurePath: "/nonexistent/pressure/cpu")
    _ = await sampler.sample([.cpu, .memory, .cpuContention])
    try await Task.sleep(for: .milliseconds(1100))
    let results = await sampler.sample([.cpu, .memory, .cpuContention])
    guard case let .failure(miss)? = results[.cpuContention] else {
        Issue.record("expected no value, got \(String(describing: results[.cpuContention]))")
        return
    }
    #expect(miss.reason == "no_psi" && miss.meansUnavailable)
    #expect(miss.detail.contains("CONFIG_PSI") && miss.detail.contains("psi=1"))
    #expect((try? results[.cpu]?.get()) != nil)
    #expect((try? results[.memory]?.get()) != nil)
    #expect(ProcSampler.stallProblem(pressurePath: "/nonexistent/pressure/cpu")?.reason == "no_psi")
}

@Test func aMalformedPressureFileIsNamedNotCrashed() async throws {
    let file = PressureFile()
    try "full avg10=0.00 total=0\n".write(toFile: file.path, atomically: false, encoding: .utf8)
    let result = await ProcSampler(pressurePath: file.path).sample([.cpuContention])[.cpuContention]
    guard case let .failure(miss)? = result else {
        Issue.record("expected no value, got \(String(describing: result))")
        return
    }
    #expect(miss.reason == "malformed_pressure" && !miss.meansUnavailable)
}

@Test func thisMachinesPressureFileReads() async throws {
    try #require(FileManager.default.fileExists(atPath: "/proc/pressure/cpu"), "this kernel has no PSI")
    #expect(ProcSampler.stallProblem() == nil)
}
