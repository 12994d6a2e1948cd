import ArgumentParser
import AutoTaintAgent
import Logging

enum LogFormat: String, ExpressibleByArgument, CaseIterable {
    case json
    case text
}

struct LogOptions: ParsableArguments {
    @Option(help: "Log format on standard error: json (one object per line) or text.")
    var logFormat: LogFormat = .json

    /// Installs the chosen handler for every logger of the process; call once.
    func bootstrap() -> Logger {
        switch logFormat {
        case .json: LoggingSystem.bootstrap { JSONLogHandler(label: $0) }
        case .text: LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        }
        return Logger(label: "autotaint")
    }
}
