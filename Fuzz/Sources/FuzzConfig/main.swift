import AutoTaintCore
import LibFuzzerDriver

/// Fuzz target: the whole path from a config file's bytes to a validated `Config` or
/// `ConfigErrors`. The input is the file; after a NUL byte, if any, come `NAME=value`
/// lines taken as the environment (so `AUTOTAINT_*` overrides are fuzzed too).
/// Every error must name a line of the file or none; a valid config keeps product.md's
/// duration rules (hold times 0s or longer, the others their minimums) and must read back
/// from its own `yamlText` (what `check-config` prints) as the same config.
LibFuzzer.run { bytes in
    let fileEnd = bytes.firstIndex(of: 0) ?? bytes.endIndex
    // As FileContents.text reads a file: invalid UTF-8 becomes U+FFFD.
    let yaml = String(decoding: bytes[..<fileEnd], as: UTF8.self)
    var environment: [String: String] = [:]
    if fileEnd < bytes.endIndex {
        let lines = String(decoding: bytes[(fileEnd + 1)...], as: UTF8.self).split(separator: "\n")
        for line in lines {
            let parts = line.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            environment[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
        }
    }
    let config: Config
    do throws(ConfigErrors) {
        config = try Config.parse(yaml: yaml, file: "fuzz.yaml", environment: environment)
    } catch {
        // At most the lines YAML sees: a break is LF, CR, CRLF (counted twice here), NEL, LS or PS.
        let lineCount = 1 + yaml.unicodeScalars.count(where: { ["\n", "\r", "\u{85}", "\u{2028}", "\u{2029}"].contains($0) })
        for problem in error.errors {
            if let line = problem.line {
                require((1...max(lineCount, 1)).contains(line), "line \(line) of \(lineCount): \(problem)")
            }
        }
        require(!error.errors.isEmpty, "ConfigErrors without an error")
        _ = error.description
        return
    }
    for signal in SignalKind.allCases {
        let holds = [config.signals[signal].for, config.signals[signal].recoverFor, config.signals[signal].minHold]
        require(holds.allSatisfy { $0 >= .zero }, "a negative hold time of \(signal) was accepted: \(holds)")
    }
    require(config.sampling.interval >= .seconds(1), "sampling.interval \(config.sampling.interval) was accepted")
    require(config.prometheus.timeout > .zero && config.prometheus.timeout <= .seconds(60),
            "prometheus.timeout \(config.prometheus.timeout) was accepted")
    require((Duration.seconds(60)...Duration.seconds(3600)).contains(config.heartbeat),
            "heartbeat \(config.heartbeat) was accepted")
    require(config.prometheus.staleAfter >= config.sampling.interval * 2,
            "prometheus.staleAfter \(config.prometheus.staleAfter) was accepted with interval \(config.sampling.interval)")
    let written = config.yamlText
    do {
        let reread = try Config.parse(yaml: written, file: "effective.yaml", environment: [:])
        require(reread == config, "the effective config reads back differently:\n\(written)")
    } catch {
        finding("the effective config does not read back: \(error)\n\(written)")
    }
}
