import ArgumentParser

@main
struct AutoTaint: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "autotaint",
        abstract: "Keeps a taint on this node in step with its CPU (and memory) pressure.",
        version: "0.1.0"
    )
}
