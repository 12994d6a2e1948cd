extension SignalKind {
    /// How annotations name the signal: `cpu`, `memory`, `cpu-contention`.
    var annotationName: String {
        switch self {
        case .cpu, .memory: rawValue
        case .cpuContention: "cpu-contention"
        }
    }
}

extension Config {
    /// The annotation on a Node that overrides `signals.<signal>.highPercent` (or
    /// `lowPercent`) for that Node alone, e.g. `autotaint.dev/cpu-high-percent: "90"`.
    public static func overrideAnnotation(_ signal: SignalKind, high: Bool) -> String {
        "autotaint.dev/\(signal.annotationName)-\(high ? "high" : "low")-percent"
    }

    /// This config with the Node's threshold annotations applied: they beat the ConfigMap
    /// for that Node. An annotation that is not a number in 0–100, or that would put low
    /// at or above high, is ignored (both of that signal's, so a half-applied pair never
    /// makes a threshold the operator did not mean); each problem is returned for the log.
    public func applying(annotations: [String: String]) -> (config: Config, problems: [String]) {
        var result = self
        var problems: [String] = []
        for signal in SignalKind.allCases {
            var signalConfig = signals[signal]
            var valid = true
            for high in [true, false] {
                let key = Config.overrideAnnotation(signal, high: high)
                guard let text = annotations[key] else { continue }
                guard let value = Double(text), value.isFinite, (0...100).contains(value) else {
                    problems.append("\(key): \"\(text)\" is not a percentage from 0 to 100; ignored")
                    valid = false
                    continue
                }
                if high { signalConfig.highPercent = value } else { signalConfig.lowPercent = value }
            }
            guard valid else { continue }
            guard signalConfig.lowPercent < signalConfig.highPercent else {
                problems.append(
                    "\(Config.overrideAnnotation(signal, high: false)), \(Config.overrideAnnotation(signal, high: true)): "
                        + "low \(percentText(signalConfig.lowPercent)) must be below high "
                        + "\(percentText(signalConfig.highPercent)); both ignored")
                continue
            }
            result.signals[signal] = signalConfig
        }
        return (result, problems)
    }
}
