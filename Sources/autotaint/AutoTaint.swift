import AgentExecutor
import ArgumentParser
import Glibc

@main
struct AutoTaint: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "autotaint",
        abstract: "Keeps a taint on this node in step with its CPU (and memory) pressure.",
        discussion: """
            Exit codes: 0 ok, 1 bad config or usage, 2 cannot reach a required dependency at start.
            """,
        version: "0.1.0",
        subcommands: [Run.self, SampleCommand.self, CheckConfig.self]
    )

    /// The command on the agent's one thread (`SingleThreadExecutor`) from its first job,
    /// so that no Dispatch worker ever starts.
    static func main() async {
        await withTaskExecutorPreference(SingleThreadExecutor.shared) { await parseAndRun() }
    }

    /// Parses and runs like `AsyncParsableCommand.main()`, but usage errors exit 1 as
    /// product.md promises (argument-parser's default is 64).
    static func parseAndRun() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            let code = exitCode(for: error)
            let message = fullMessage(for: error)
            if code == .success {
                if !message.isEmpty { print(message) }
                Glibc.exit(0)
            }
            if !message.isEmpty { printError(message) }
            Glibc.exit(code == .validationFailure ? 1 : code.rawValue)
        }
    }
}

/// Writes one line to standard error in one unbuffered write.
func printError(_ text: String) {
    writeLine(text, to: STDERR_FILENO)
}

/// Writes one line in one unbuffered write, so a reader of a pipe sees each line as it
/// is made.
func writeLine(_ text: String, to descriptor: Int32) {
    var line = Array((text + "\n").utf8)
    _ = line.withUnsafeMutableBytes { write(descriptor, $0.baseAddress, $0.count) }
}
