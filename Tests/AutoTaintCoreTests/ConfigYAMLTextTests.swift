import PropertyBased
import Testing
import YAML
@testable import AutoTaintCore

@Suite("Effective config as YAML")
struct ConfigYAMLTextTests {
    @Test func defaultsAreWrittenOutInFull() {
        #expect(Config().yamlText == #"""
            nodeName: ""
            sampling:
              interval: 5s
              source: auto
            signals:
              cpu:
                enabled: true
                highPercent: 80
                lowPercent: 60
                for: 30s
                recoverFor: 2m
                minHold: 1m
                taint: {key: autotaint.dev/cpu-pressure, value: "true", effect: NoSchedule}
                condition: CPUPressure
                enforce: true
                allowNoExecute: false
              memory:
                enabled: false
                highPercent: 90
                lowPercent: 80
                for: 30s
                recoverFor: 2m
                minHold: 1m
                taint: {key: autotaint.dev/memory-pressure, value: "true", effect: NoSchedule}
                condition: MemoryUsagePressure
                enforce: true
                allowNoExecute: false
              cpuContention:
                enabled: false
                highPercent: 40
                lowPercent: 20
                minUsagePercent: 50
                for: 30s
                recoverFor: 2m
                minHold: 1m
                taint: {key: autotaint.dev/cpu-contention, value: "true", effect: NoSchedule}
                condition: CPUContention
                enforce: true
                allowNoExecute: false
            prometheus:
              url: ""
              query: '100 * (1 - avg(rate(node_cpu_seconds_total{mode="idle",instance=~"$node(:[0-9]+)?"}[1m])))'
              timeout: 5s
              staleAfter: 1m
            heartbeat: 5m
            fleet:
              maxTaintedPercent: 30
              maxTainted: 0
              overflowEffect: PreferNoSchedule
              leaseDuration: 2m
              daemonSet: autotaint
            shutdown:
              removeTaints: true
            server:
              address: ":9469"
            dryRun: false

            """#)
    }

    @Test func defaultsReadBackEqual() throws {
        #expect(try Config.parse(yaml: Config().yamlText, file: "effective.yaml", environment: [:]) == Config())
    }

    @Test func everySettingChangedReadsBackEqual() throws {
        var config = Config()
        config.nodeName = "node-1.example.com"
        config.sampling.interval = .milliseconds(1500)
        config.sampling.source = .prometheus
        config.signals.cpu.highPercent = 92.5
        config.signals.cpu.lowPercent = 0
        config.signals.cpu.for = .seconds(90)
        config.signals.cpu.recoverFor = .seconds(5400)
        config.signals.cpu.minHold = .milliseconds(250)
        config.signals.cpu.taint = TaintSpec(key: "example.com/hot", value: "", effect: .noExecute)
        config.signals.cpu.allowNoExecute = true
        config.signals.memory.enabled = true
        config.signals.memory.taint = TaintSpec(key: "memory-full", value: "yes", effect: .preferNoSchedule)
        config.signals.memory.condition = "Memory2Full"
        config.prometheus.url = "https://[::1]:9443/prom"
        config.prometheus.query = "sum(x{a=\"it's\"})\n\t# second line, 100% \\ ünïcode"
        config.prometheus.timeout = .milliseconds(800)
        config.prometheus.staleAfter = .seconds(3)
        config.heartbeat = .seconds(3600)
        config.fleet.maxTaintedPercent = 12.5
        config.fleet.maxTainted = 40
        config.fleet.overflowEffect = .none
        config.fleet.leaseDuration = .seconds(45)
        config.fleet.daemonSet = "autotaint-canary"
        config.shutdown.removeTaints = false
        config.server.address = "0.0.0.0:8080"
        config.dryRun = true

        #expect(try Config.parse(yaml: config.yamlText, file: "effective.yaml", environment: [:]) == config)
    }

    @Test(arguments: [
        ("NoSchedule", "NoSchedule"),
        ("autotaint.dev/cpu-pressure", "autotaint.dev/cpu-pressure"),
        ("", #""""#),
        ("true", #""true""#),
        ("No", #""No""#),
        ("80", #""80""#),
        (":9469", #"":9469""#),
        ("a b", #""a b""#),
        (#"say "hi""#, #"'say "hi"'"#),
        ("it's", #""it's""#),
        ("line\nbreak", #""line\u000Abreak""#),
    ])
    func stringsAreQuotedOnlyWhereNeeded(string: String, expected: String) {
        #expect(yamlScalarText(string) == expected)
    }

    @Test func anyStringReadsBackAsItself() async {
        let characters = Gen.oneOf(Gen.ascii, Gen.latin1, Gen.character(in: "\u{2000}"..."\u{D7FF}"),
                                 Gen.character(in: "\u{E000}"..."\u{10FFFF}"))
        await propertyCheck(count: 500, input: characters.string(of: 0...12)) { string throws in
            let root = try YAMLNode.parse("key: \(yamlScalarText(string))\nflow: {key: \(yamlScalarText(string))}\n")
            guard case .mapping(let entries, _) = root,
                  case .scalar(let block, _, _) = entries[0].value,
                  case .mapping(let flowEntries, _) = entries[1].value,
                  case .scalar(let flow, _, _) = flowEntries[0].value
            else {
                Issue.record("not a mapping of two scalars: \(String(describing: root))")
                return
            }
            #expect(block.unicodeScalars.elementsEqual(string.unicodeScalars))
            #expect(flow.unicodeScalars.elementsEqual(string.unicodeScalars))
        }
    }
}
