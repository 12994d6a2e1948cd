import Testing
@testable import AutoTaintCore

/// A config an operator might write by mistake, and the one line `check-config` must print for it.
struct BadConfig: Sendable, CustomTestStringConvertible {
    let yaml: String
    let environment: [String: String]
    let expected: String

    init(_ yaml: String, environment: [String: String] = [:], _ expected: String) {
        self.yaml = yaml
        self.environment = environment
        self.expected = expected
    }

    var testDescription: String { expected }
}

@Suite("Config errors, exactly as an operator reads them")
struct ConfigErrorTableTests {
    static let cases: [BadConfig] = [
        // YAML itself
        BadConfig("sampling:\n  interval: 5s\n source: auto\n",
                  "autotaint.yaml:3: did not find expected key (while parsing a block mapping starting on line 1) (column 2)"),
        BadConfig("dryRun: false\n---\ndryRun: true\n",
                  "autotaint.yaml:2: a second YAML document starts here; the file must hold exactly one (column 1)"),
        BadConfig("signals:\n  cpu: &cpu {enabled: true}\n  memory: *cpu\n",
                  "autotaint.yaml:3: aliases (*cpu) are not supported; write the value out (column 11)"),
        BadConfig("- nodeName: a\n",
                  "autotaint.yaml:1: expected a mapping of settings at the top level, found a list"),
        BadConfig("? [a, b]\n: c\n",
                  "autotaint.yaml:1: keys must be plain names, found a list"),

        // Keys
        BadConfig("dryrun: true\n",
                  "autotaint.yaml:1: dryrun: unknown key; allowed here: nodeName, sampling, signals, prometheus, heartbeat, fleet, shutdown, server, dryRun"),
        BadConfig("signals:\n  cpu:\n    hihgPercent: 85\n",
                  "autotaint.yaml:3: signals.cpu.hihgPercent: unknown key; allowed here: enabled, highPercent, lowPercent, for, recoverFor, minHold, taint, condition, enforce, allowNoExecute"),
        BadConfig("signals:\n  disk: {enabled: true}\n",
                  "autotaint.yaml:2: signals.disk: unknown key; allowed here: cpu, memory, cpuContention"),
        BadConfig("signals:\n  cpu:\n    taint: {key: a, vaule: b}\n",
                  "autotaint.yaml:3: signals.cpu.taint.vaule: unknown key; allowed here: key, value, effect"),
        BadConfig("dryRun: false\nheartbeat: 5m\ndryRun: true\n",
                  "autotaint.yaml:3: dryRun: duplicate key; it is already set on line 1"),

        // Shapes and scalar types
        BadConfig("sampling: 5s\n",
                  #"autotaint.yaml:1: sampling: expected a mapping, found "5s""#),
        BadConfig("heartbeat: {minutes: 5}\n",
                  "autotaint.yaml:1: heartbeat: expected a duration such as 30s, 2m or 1h30m, found a mapping"),
        BadConfig("nodeName: [a, b]\n",
                  "autotaint.yaml:1: nodeName: expected a string, found a list"),
        BadConfig("signals:\n  cpu:\n    highPercent:\n",
                  "autotaint.yaml:3: signals.cpu.highPercent: expected a number, found no value"),
        BadConfig("signals:\n  cpu:\n    highPercent: 80%\n",
                  #"autotaint.yaml:3: signals.cpu.highPercent: "80%" is not a number"#),
        BadConfig("signals:\n  cpu:\n    highPercent: \"85\"\n",
                  #"autotaint.yaml:3: signals.cpu.highPercent: "85" is quoted, so it is text; write the number without quotes"#),
        BadConfig("signals:\n  memory:\n    enabled: yes\n",
                  #"autotaint.yaml:3: signals.memory.enabled: "yes" is not a boolean; write true or false"#),
        BadConfig("dryRun: \"true\"\n",
                  #"autotaint.yaml:1: dryRun: "true" is quoted, so it is text; write true or false without quotes"#),
        BadConfig("sampling:\n  source: kubelet\n",
                  #"autotaint.yaml:2: sampling.source: "kubelet" is not one of proc, prometheus, auto"#),
        BadConfig("signals:\n  cpu:\n    taint: {effect: NoEvict}\n",
                  #"autotaint.yaml:3: signals.cpu.taint.effect: "NoEvict" is not one of NoSchedule, PreferNoSchedule, NoExecute"#),

        // Thresholds
        BadConfig("signals:\n  cpu:\n    lowPercent: 85\n",
                  "autotaint.yaml:3: signals.cpu.lowPercent: 85 must be below highPercent (80)"),
        BadConfig("signals:\n  cpu:\n    highPercent: 50\n",
                  "autotaint.yaml:3: signals.cpu.highPercent: 50 must be above lowPercent (60)"),
        BadConfig("signals:\n  cpu:\n    highPercent: 70\n    lowPercent: 70\n",
                  "autotaint.yaml:4: signals.cpu.lowPercent: 70 must be below highPercent (70)"),
        BadConfig("signals:\n  memory:\n    highPercent: 120\n",
                  "autotaint.yaml:3: signals.memory.highPercent: 120 must be between 0 and 100 (percent of the whole node)"),
        BadConfig("signals:\n  cpu:\n    lowPercent: -5\n",
                  "autotaint.yaml:3: signals.cpu.lowPercent: -5 must be between 0 and 100 (percent of the whole node)"),

        // Durations
        BadConfig("signals:\n  cpu:\n    for: 30\n",
                  #"autotaint.yaml:3: signals.cpu.for: "30" is not a duration: "30" has no unit; use ns, us, ms, s, m or h, e.g. 500ms, 30s, 1m30s"#),
        BadConfig("signals:\n  cpu:\n    recoverFor: -2m\n",
                  #"autotaint.yaml:3: signals.cpu.recoverFor: "-2m" is not a duration: it is negative"#),
        BadConfig("signals:\n  cpuContention:\n    minUsagePercent: 101\n",
                  "autotaint.yaml:3: signals.cpuContention.minUsagePercent: 101 must be between 0 and 100 (percent of the whole node)"),
        BadConfig("signals:\n  cpu:\n    minUsagePercent: 50\n",
                  "autotaint.yaml:3: signals.cpu.minUsagePercent: unknown key; allowed here: enabled, highPercent, lowPercent, for, recoverFor, minHold, taint, condition, enforce, allowNoExecute"),
        BadConfig("prometheus:\n  timeout: 0s\n",
                  "autotaint.yaml:2: prometheus.timeout: 0s must be longer than 0s and at most 1m"),
        BadConfig("sampling:\n  interval: 0s\n",
                  "autotaint.yaml:2: sampling.interval: 0s must be at least 1s: libproc2 re-reads /proc at most once per second"),
        BadConfig("sampling:\n  interval: 500ms\n",
                  "autotaint.yaml:2: sampling.interval: 500ms must be at least 1s: libproc2 re-reads /proc at most once per second"),
        BadConfig("prometheus:\n  timeout: 2m\n",
                  "autotaint.yaml:2: prometheus.timeout: 2m must be longer than 0s and at most 1m"),
        BadConfig("prometheus:\n  staleAfter: 8s\n",
                  "autotaint.yaml:2: prometheus.staleAfter: 8s must be at least twice sampling.interval (5s) so that one late sample does not make a signal unknown"),
        BadConfig("sampling:\n  interval: 45s\nfleet: {maxTaintedPercent: 0}\n",
                  "autotaint.yaml:2: sampling.interval: 45s must be at most half of prometheus.staleAfter (1m) so that one late sample does not make a signal unknown"),
        BadConfig("heartbeat: 30s\n",
                  "autotaint.yaml:1: heartbeat: 30s must be between 1m and 1h: more often loads the API server, less often makes conditions look stale"),
        BadConfig("heartbeat: 2h\n",
                  "autotaint.yaml:1: heartbeat: 2h must be between 1m and 1h: more often loads the API server, less often makes conditions look stale"),
        BadConfig("sampling: {interval: 2m}\nprometheus: {staleAfter: 5m}\nheartbeat: 1m\nfleet: {maxTaintedPercent: 0}\n",
                  "autotaint.yaml:3: heartbeat: 1m must be at least sampling.interval (2m)"),

        // Sources and endpoints
        BadConfig("sampling:\n  source: prometheus\n",
                  "autotaint.yaml:2: sampling.source: prometheus needs prometheus.url; set it, or use proc or auto"),
        BadConfig("prometheus:\n  url: prometheus.monitoring.svc:9090\n",
                  #"autotaint.yaml:2: prometheus.url: "prometheus.monitoring.svc:9090" must be an http:// or https:// URL with a host, e.g. http://prometheus.monitoring.svc:9090"#),
        BadConfig("prometheus:\n  url: http:///api/v1\n",
                  #"autotaint.yaml:2: prometheus.url: "http:///api/v1" must be an http:// or https:// URL with a host, e.g. http://prometheus.monitoring.svc:9090"#),
        BadConfig("server:\n  address: \"9469\"\n",
                  #"autotaint.yaml:2: server.address: "9469" must be empty (no server) or [host]:port with a port from 1 to 65535, e.g. ":9469""#),
        BadConfig("server:\n  address: \":70000\"\n",
                  #"autotaint.yaml:2: server.address: ":70000" must be empty (no server) or [host]:port with a port from 1 to 65535, e.g. ":9469""#),
        BadConfig("nodeName: Worker_1\n",
                  #"autotaint.yaml:1: nodeName: "Worker_1" must be empty (to use --node or $NODE_NAME) or a DNS subdomain: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit, at most 253 characters"#),

        // Taints
        BadConfig("signals:\n  cpu:\n    taint: {key: cpu pressure}\n",
                  #"autotaint.yaml:3: signals.cpu.taint.key: "cpu pressure" is not a valid taint key: it must be at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit"#),
        BadConfig("signals:\n  cpu:\n    taint: {key: \"\"}\n",
                  #"autotaint.yaml:3: signals.cpu.taint.key: "" is not a valid taint key: it must be at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit"#),
        BadConfig("signals:\n  cpu:\n    taint: {key: Autotaint.dev/cpu}\n",
                  #"autotaint.yaml:3: signals.cpu.taint.key: "Autotaint.dev/cpu" is not a valid taint key: the prefix before '/' must be a DNS subdomain: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit, at most 253 characters"#),
        BadConfig("signals:\n  cpu:\n    taint: {key: autotaint.dev/\(String(repeating: "c", count: 64))}\n",
                  #"autotaint.yaml:3: signals.cpu.taint.key: "autotaint.dev/cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc" is not a valid taint key: the name after '/' must be at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit"#),
        BadConfig("signals:\n  cpu:\n    taint: {key: a/b/c}\n",
                  #"autotaint.yaml:3: signals.cpu.taint.key: "a/b/c" is not a valid taint key: it has more than one '/'"#),
        BadConfig("signals:\n  cpu:\n    taint: {key: kubernetes.io/cpu-pressure}\n",
                  #"autotaint.yaml:3: signals.cpu.taint.key: "kubernetes.io/cpu-pressure" uses kubernetes.io/, which Kubernetes reserves (kubernetes.io, k8s.io and their subdomains); use a domain of your own, e.g. autotaint.dev/"#),
        BadConfig("signals:\n  cpu:\n    taint: {key: node.k8s.io/cpu}\n",
                  #"autotaint.yaml:3: signals.cpu.taint.key: "node.k8s.io/cpu" uses node.k8s.io/, which Kubernetes reserves (kubernetes.io, k8s.io and their subdomains); use a domain of your own, e.g. autotaint.dev/"#),
        BadConfig("signals:\n  cpu:\n    taint: {value: \"-yes\"}\n",
                  #"autotaint.yaml:3: signals.cpu.taint.value: "-yes" is not a valid taint value: it must be empty or at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit"#),
        BadConfig("signals:\n  cpu:\n    taint: {effect: NoExecute}\n",
                  "autotaint.yaml:3: signals.cpu.taint.effect: NoExecute evicts running pods; set signals.cpu.allowNoExecute: true to use it, or use NoSchedule or PreferNoSchedule"),
        BadConfig("signals:\n  memory:\n    enabled: true\n    taint: {key: autotaint.dev/cpu-pressure}\n",
                  "autotaint.yaml:4: signals.memory.taint.key: autotaint.dev/cpu-pressure with effect NoSchedule is already the taint of signals.cpu; each enabled signal needs its own"),

        // Conditions
        BadConfig("signals:\n  memory:\n    condition: MemoryPressure\n",
                  "autotaint.yaml:3: signals.memory.condition: MemoryPressure is kubelet's own condition type; choose another name"),
        BadConfig("signals:\n  cpu:\n    condition: cpu-pressure\n",
                  #"autotaint.yaml:3: signals.cpu.condition: "cpu-pressure" is not a condition type: it must be CamelCase, a capital letter then letters and digits"#),
        BadConfig("signals:\n  memory:\n    enabled: true\n    condition: CPUPressure\n",
                  "autotaint.yaml:4: signals.memory.condition: CPUPressure is already the condition of signals.cpu; each enabled signal needs its own"),

        // The fleet guard
        BadConfig("fleet:\n  maxTaintedPercnt: 30\n",
                  "autotaint.yaml:2: fleet.maxTaintedPercnt: unknown key; allowed here: maxTaintedPercent, maxTainted, overflowEffect, leaseDuration, daemonSet"),
        BadConfig("fleet:\n  maxTaintedPercent: 130\n",
                  "autotaint.yaml:2: fleet.maxTaintedPercent: 130 must be between 0 (guard off) and 100 (percent of the DaemonSet's nodes)"),
        BadConfig("fleet:\n  maxTaintedPercent: -5\n",
                  "autotaint.yaml:2: fleet.maxTaintedPercent: -5 must be between 0 (guard off) and 100 (percent of the DaemonSet's nodes)"),
        BadConfig("fleet:\n  maxTainted: 2.5\n",
                  "autotaint.yaml:2: fleet.maxTainted: 2.5 must be a whole number of nodes from 0 (no absolute cap) to 1000000"),
        BadConfig("fleet:\n  overflowEffect: NoSchedule\n",
                  #"autotaint.yaml:2: fleet.overflowEffect: "NoSchedule" is not one of PreferNoSchedule, None"#),
        BadConfig("fleet:\n  leaseDuration: 2s\n",
                  "autotaint.yaml:2: fleet.leaseDuration: 2s must be whole seconds from 3s to 1h (Leases count in seconds; renewals go every third of it)"),
        BadConfig("fleet:\n  leaseDuration: 4500ms\n",
                  "autotaint.yaml:2: fleet.leaseDuration: 4s500ms must be whole seconds from 3s to 1h (Leases count in seconds; renewals go every third of it)"),
        BadConfig("fleet:\n  leaseDuration: 12s\n",
                  "autotaint.yaml:2: fleet.leaseDuration: 12s must be at least three times sampling.interval (5s): holders renew on ticks, every third of leaseDuration"),
        BadConfig("sampling:\n  interval: 45s\nprometheus: {staleAfter: 2m}\n",
                  "autotaint.yaml:2: sampling.interval: 45s must be at most a third of fleet.leaseDuration (2m): holders renew on ticks, every third of leaseDuration"),
        BadConfig("fleet:\n  daemonSet: Autotaint\n",
                  #"autotaint.yaml:2: fleet.daemonSet: "Autotaint" is not a DaemonSet name: it must be a DNS subdomain: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit, at most 253 characters"#),
        BadConfig("", environment: ["AUTOTAINT_FLEET_MAXTAINTEDPERCENT": "all"],
                  #"autotaint.yaml: AUTOTAINT_FLEET_MAXTAINTEDPERCENT: "all" is not a number"#),

        // Environment overrides
        BadConfig("", environment: ["AUTOTAINT_SIGNALS_CPU_HIHGPERCENT": "85"],
                  "autotaint.yaml: AUTOTAINT_SIGNALS_CPU_HIHGPERCENT: names no setting; variables are AUTOTAINT_ and the key path in capitals, e.g. AUTOTAINT_SIGNALS_CPU_HIGHPERCENT"),
        BadConfig("", environment: ["AUTOTAINT_SIGNALS_CPU": "off"],
                  "autotaint.yaml: AUTOTAINT_SIGNALS_CPU: names no setting; variables are AUTOTAINT_ and the key path in capitals, e.g. AUTOTAINT_SIGNALS_CPU_HIGHPERCENT"),
        BadConfig("", environment: ["AUTOTAINT_SIGNALS_CPU_HIGHPERCENT": "high"],
                  #"autotaint.yaml: AUTOTAINT_SIGNALS_CPU_HIGHPERCENT: "high" is not a number"#),
        BadConfig("signals:\n  cpu:\n    lowPercent: 70\n", environment: ["AUTOTAINT_SIGNALS_CPU_HIGHPERCENT": "65"],
                  "autotaint.yaml:3: signals.cpu.lowPercent: 70 must be below highPercent (65)"),
        BadConfig("", environment: ["AUTOTAINT_SIGNALS_CPU_LOWPERCENT": "85"],
                  "autotaint.yaml: AUTOTAINT_SIGNALS_CPU_LOWPERCENT: 85 must be below highPercent (80)"),
        BadConfig("", environment: ["AUTOTAINT_DRYRUN": "1"],
                  #"autotaint.yaml: AUTOTAINT_DRYRUN: "1" is not a boolean; write true or false"#),

        // A rule between two settings blames the first one involved that the operator wrote.
        BadConfig("prometheus: {staleAfter: 1m}\n", environment: ["AUTOTAINT_SAMPLING_INTERVAL": "40s"],
                  "autotaint.yaml:1: prometheus.staleAfter: 1m must be at least twice sampling.interval (40s) so that one late sample does not make a signal unknown"),
        BadConfig("", environment: ["AUTOTAINT_SAMPLING_INTERVAL": "40s"],
                  "autotaint.yaml: AUTOTAINT_SAMPLING_INTERVAL: 40s must be at most half of prometheus.staleAfter (1m) so that one late sample does not make a signal unknown"),
    ]

    @Test(arguments: cases)
    func reportsExactlyThisError(config: BadConfig) {
        do {
            let parsed = try Config.parse(yaml: config.yaml, file: "autotaint.yaml", environment: config.environment)
            Issue.record("accepted: \(parsed)")
        } catch {
            #expect(error.description == config.expected)
        }
    }
}
