import Foundation
import Testing
@testable import AutoTaintCore

@Suite("Reading a config")
struct ConfigParseTests {
    /// The example of product.md's "Config file" section, verbatim.
    static let productExample = #"""
        nodeName: ""                 # empty: from --node / $NODE_NAME
        sampling:
          interval: 5s               # how often the node is sampled
          source: auto               # proc | prometheus | auto (proc, falling back to prometheus)
        signals:
          cpu:
            enabled: true
            highPercent: 80          # enter pressure when usage >= high for `for`
            lowPercent: 60           # leave pressure when usage <= low for `recoverFor`
            for: 30s
            recoverFor: 2m
            minHold: 1m              # never leave a state sooner than this after entering it
            taint: {key: autotaint.dev/cpu-pressure, value: "true", effect: NoSchedule}
            condition: CPUPressure
            enforce: true            # false: report-only: condition and Events as usual, the taint is never written
          memory:                    # same shape; off by default
            enabled: false
            highPercent: 90
            lowPercent: 80
            taint: {key: autotaint.dev/memory-pressure, value: "true", effect: NoSchedule}
            condition: MemoryUsagePressure
          cpuContention:             # same shape; off by default. PSI: share of wall time in which at
            enabled: false           # least one runnable task waited for a CPU (/proc/pressure/cpu "some")
            highPercent: 40
            lowPercent: 20
            minUsagePercent: 50      # below this node CPU usage, stall is CFS throttling, not contention: reads 0
            taint: {key: autotaint.dev/cpu-contention, value: "true", effect: NoSchedule}
            condition: CPUContention
        prometheus:
          url: ""                    # e.g. http://prometheus.monitoring.svc:9090
          query: '100 * (1 - avg(rate(node_cpu_seconds_total{mode="idle",instance=~"$node(:[0-9]+)?"}[1m])))'
          timeout: 5s
          staleAfter: 1m             # a value older than this counts as no value
        heartbeat: 5m                # condition re-report period when nothing changes
        shutdown:
          removeTaints: true         # on SIGTERM: remove own taints, set conditions Unknown
        server:
          address: ":9469"           # /metrics, /healthz, /readyz; "" disables
        dryRun: false
        """#

    private func parse(_ yaml: String, environment: [String: String] = [:]) throws(ConfigErrors) -> Config {
        try Config.parse(yaml: yaml, file: "autotaint.yaml", environment: environment)
    }

    @Test func productExampleIsTheDefaults() throws {
        #expect(try parse(Self.productExample) == Config())
    }

    @Test(arguments: ["", "\n", "# nothing but a comment\n", "---\n"])
    func emptyFileMeansDefaults(yaml: String) throws {
        #expect(try parse(yaml) == Config())
    }

    @Test func sampleConfigInTheRepositoryParses() throws {
        let path = URL(filePath: #filePath).deletingLastPathComponent()
            .appending(path: "../../config/autotaint.yaml").standardized.path
        var expected = Config()
        expected.sampling.interval = .seconds(1)
        #expect(try parse(String(contentsOfFile: path, encoding: .utf8)) == expected)
    }

    @Test func fileSettingsOverrideDefaults() throws {
        let config = try parse("""
            nodeName: worker-7
            sampling: {interval: 2s, source: proc}
            signals:
              cpu:
                highPercent: 85.5
                taint: {effect: PreferNoSchedule}
              memory:
                enabled: true
            prometheus:
              url: http://prometheus.monitoring.svc:9090
            dryRun: true
            """)
        var expected = Config()
        expected.nodeName = "worker-7"
        expected.sampling.interval = .seconds(2)
        expected.sampling.source = .proc
        expected.signals.cpu.highPercent = 85.5
        expected.signals.cpu.taint.effect = .preferNoSchedule
        expected.signals.memory.enabled = true
        expected.prometheus.url = "http://prometheus.monitoring.svc:9090"
        expected.dryRun = true
        #expect(config == expected)
    }

    @Test func environmentOverridesTheFile() throws {
        let config = try parse(
            "signals:\n  cpu:\n    highPercent: 70\n",
            environment: [
                "AUTOTAINT_SIGNALS_CPU_HIGHPERCENT": "85",
                "AUTOTAINT_SAMPLING_INTERVAL": "2s",
                "AUTOTAINT_SIGNALS_CPU_TAINT_KEY": "example.com/busy",
                "AUTOTAINT_SIGNALS_MEMORY_FOR": "1m",
                "AUTOTAINT_DRYRUN": "true",
                "AUTOTAINT_NODENAME": "",
                "PATH": "/usr/bin",
                "NODE_NAME": "ignored-here",
            ])
        var expected = Config()
        expected.signals.cpu.highPercent = 85
        expected.sampling.interval = .seconds(2)
        expected.signals.cpu.taint.key = "example.com/busy"
        expected.signals.memory.for = .seconds(60)
        expected.dryRun = true
        #expect(config == expected)
    }

    /// product.md, "Rules": 0s means "act on the first sample past the threshold; no hold".
    @Test func holdTimesMayBeZero() throws {
        let config = try parse("signals:\n  memory: {for: 0s, recoverFor: 0, minHold: 0ms}\n",
                               environment: ["AUTOTAINT_SIGNALS_CPU_FOR": "0s"])
        #expect(config.signals.memory.for == .zero)
        #expect(config.signals.memory.recoverFor == .zero)
        #expect(config.signals.memory.minHold == .zero)
        #expect(config.signals.cpu.for == .zero)
        #expect(try parse(config.yamlText) == config)
    }

    @Test func enforceIsPerSignalFromTheFileOrTheEnvironment() throws {
        let config = try parse("signals:\n  cpu: {enforce: false}\n",
                               environment: ["AUTOTAINT_SIGNALS_MEMORY_ENFORCE": "false"])
        #expect(!config.signals.cpu.enforce)
        #expect(!config.signals.memory.enforce)
        #expect(Config().signals.cpu.enforce && Config().signals.memory.enforce)
    }

    @Test func environmentCanRepairAValueTheFileGotWrong() throws {
        let config = try parse("signals: {cpu: {lowPercent: 95}}", environment: ["AUTOTAINT_SIGNALS_CPU_LOWPERCENT": "50"])
        #expect(config.signals.cpu.lowPercent == 50)
    }

    @Test(arguments: [
        "server: {address: \"\"}",
        "server: {address: \":9469\"}",
        "server: {address: \"0.0.0.0:9469\"}",
        "server: {address: \"[::]:9469\"}",
        "server: {address: localhost:65535}",
        "prometheus: {url: http://prometheus.monitoring.svc:9090}",
        "prometheus: {url: \"https://[fd00::1]/prom?x=1\"}",
        "sampling: {source: prometheus}\nprometheus: {url: http://10.0.0.1}",
        "signals: {cpu: {taint: {key: cpu-pressure, value: \"\"}}}",
        "signals: {cpu: {taint: {key: example.com/x, effect: NoExecute}, allowNoExecute: true}}",
        "signals: {memory: {enabled: true, taint: {key: autotaint.dev/cpu-pressure, effect: PreferNoSchedule}}}",
        "signals: {memory: {condition: CPUPressure}}",
        "signals: {cpu: {highPercent: 100, lowPercent: 0}}",
        "nodeName: ip-10-0-0-1.eu-west-1.compute.internal",
        "sampling: {interval: 1s}\nprometheus: {staleAfter: 2s, timeout: 1m}\nheartbeat: 1h",
    ])
    func acceptsEdgesOfTheRules(yaml: String) throws {
        _ = try parse(yaml)
    }

    @Test func everyProblemIsReportedInFileOrder() {
        let yaml = """
            sampling:
              interval: 500ms
              sorce: proc
            signals:
              cpu:
                highPercent: high
                lowPercent: 90
                taint: {key: node.kubernetes.io/cpu, effect: NoExecute}
            dryRun: yes
            """
        #expect(throws: ConfigErrors(errors: [
            ConfigError(file: "autotaint.yaml", line: 2, key: "sampling.interval",
                        message: "500ms must be at least 1s: libproc2 re-reads /proc at most once per second"),
            ConfigError(file: "autotaint.yaml", line: 3, key: "sampling.sorce",
                        message: "unknown key; allowed here: interval, source"),
            ConfigError(file: "autotaint.yaml", line: 6, key: "signals.cpu.highPercent",
                        message: #""high" is not a number"#),
            ConfigError(file: "autotaint.yaml", line: 8, key: "signals.cpu.taint.key",
                        message: #""node.kubernetes.io/cpu" uses node.kubernetes.io/, which Kubernetes reserves (kubernetes.io, k8s.io and their subdomains); use a domain of your own, e.g. autotaint.dev/"#),
            ConfigError(file: "autotaint.yaml", line: 8, key: "signals.cpu.taint.effect",
                        message: "NoExecute evicts running pods; set signals.cpu.allowNoExecute: true to use it, or use NoSchedule or PreferNoSchedule"),
            ConfigError(file: "autotaint.yaml", line: 9, key: "dryRun",
                        message: #""yes" is not a boolean; write true or false"#),
            ConfigError(file: "autotaint.yaml", line: nil, key: "AUTOTAINT_SIGNALS_CPU_HIHGPERCENT",
                        message: "names no setting; variables are AUTOTAINT_ and the key path in capitals, e.g. AUTOTAINT_SIGNALS_CPU_HIGHPERCENT"),
        ])) {
            try parse(yaml, environment: ["AUTOTAINT_SIGNALS_CPU_HIHGPERCENT": "85"])
        }
    }

    /// Found by the config fuzz target (Fuzz/): a file cut short in a key, without a final
    /// line break, was reported on the line after its last.
    @Test func syntaxErrorAtTheEndOfAFileNamesItsLastLine() {
        #expect(throws: ConfigErrors(errors: [
            ConfigError(file: "autotaint.yaml", line: 2, key: "",
                        message: "could not find expected ':' (while scanning a simple key starting on line 2) (column 11)"),
        ])) {
            try parse("sampling: {interval: 5s}\nprometheu=")
        }
    }

    @Test func errorsPrintOnePerLineForTheOperator() {
        let errors = ConfigErrors(errors: [
            ConfigError(file: "/etc/autotaint/config.yaml", line: 7, key: "signals.cpu.lowPercent",
                        message: "85 must be below highPercent (80)"),
            ConfigError(file: "/etc/autotaint/config.yaml", line: nil, key: "AUTOTAINT_DRYRUN",
                        message: #""1" is not a boolean; write true or false"#),
            ConfigError(file: "/etc/autotaint/config.yaml", line: 3, key: "",
                        message: "mapping values are not allowed in this context (column 9)"),
        ])
        #expect(errors.description == """
            /etc/autotaint/config.yaml:7: signals.cpu.lowPercent: 85 must be below highPercent (80)
            /etc/autotaint/config.yaml: AUTOTAINT_DRYRUN: "1" is not a boolean; write true or false
            /etc/autotaint/config.yaml:3: mapping values are not allowed in this context (column 9)
            """)
    }
}
