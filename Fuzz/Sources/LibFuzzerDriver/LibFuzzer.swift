import CLibFuzzer
import Glibc

/// Runs libFuzzer from a fuzz target's `main.swift`: a Swift executable has a `main` of
/// its own, so it hands libFuzzer the command line and the function to call per input,
/// instead of defining `LLVMFuzzerTestOneInput`. Links only with `-sanitize=fuzzer`.
public enum LibFuzzer {
    /// The target's function; libFuzzer calls it from one thread, one input at a time.
    nonisolated(unsafe) private static var target: ((UnsafeBufferPointer<UInt8>) -> Void)?

    /// Fuzzes `target` with libFuzzer's flags from the command line (`-max_total_time`,
    /// corpus directories, …) and exits with libFuzzer's status. A failed precondition in
    /// `target`, a crash or a sanitizer report is a finding: libFuzzer saves the input
    /// as `crash-…` and the process exits non-zero.
    public static func run(_ target: @escaping (UnsafeBufferPointer<UInt8>) -> Void) -> Never {
        Self.target = target
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        let status = LLVMFuzzerRunDriver(&argc, &argv) { data, size in
            LibFuzzer.target?(UnsafeBufferPointer(start: data, count: size))
            return 0
        }
        exit(status)
    }
}

/// A property of the code under test: when it does not hold, that is a `finding`.
/// (`precondition` would do, but in the optimized fuzz build its message is dropped.)
public func require(_ holds: Bool, _ message: @autoclosure () -> String) {
    if !holds { finding(message()) }
}

/// Prints what went wrong and aborts, which libFuzzer records as a crash with its input.
public func finding(_ message: String) -> Never {
    var report = "fuzz finding: \(message)\n"
    report.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    abort()
}
