import PropertyBased
import Testing
@testable import AutoTaintCore

@Suite("Kubernetes-style durations")
struct KubernetesDurationTests {
    @Test(arguments: [
        ("0", Duration.zero),
        ("0s", .zero),
        ("500ms", .milliseconds(500)),
        ("30s", .seconds(30)),
        ("2m", .seconds(120)),
        ("1h", .seconds(3600)),
        ("1m30s", .seconds(90)),
        ("1h30m", .seconds(5400)),
        ("1.5s", .milliseconds(1500)),
        (".5s", .milliseconds(500)),
        ("1.s", .seconds(1)),
        ("+5s", .seconds(5)),
        ("1.5h", .seconds(5400)),
        ("250us", .microseconds(250)),
        ("250µs", .microseconds(250)),
        ("250μs", .microseconds(250)),
        ("7ns", .nanoseconds(7)),
        ("1s1ms1us1ns", .nanoseconds(1_001_001_001)),
        ("0.0000000015s", .nanoseconds(1)),
        ("2562047h47m16.854775807s", .nanoseconds(Int64.max)),
        ("000000000000000000000000001s", .seconds(1)),
    ])
    func parsesGoSyntax(text: String, expected: Duration) throws {
        #expect(try Duration(kubernetes: text) == expected)
    }

    @Test(arguments: [
        ("", KubernetesDurationError.empty),
        ("+", .empty),
        ("-5s", .negative),
        ("30", .missingUnit(afterNumber: "30")),
        ("1h30", .missingUnit(afterNumber: "30")),
        ("s", .missingNumber(beforeUnit: "s")),
        ("1h.m", .malformedNumber(".")),
        ("1.2.3s", .malformedNumber("1.2.3")),
        ("5 s", .unknownUnit(" s")),
        ("5sec", .unknownUnit("sec")),
        ("1d", .unknownUnit("d")),
        ("five", .unknownUnit("five")),
        ("2562047h47m16.854775808s", .outOfRange),
        ("99999999999999999999999h", .outOfRange),
    ])
    func rejectsWithAReason(text: String, expected: KubernetesDurationError) {
        #expect(throws: expected) { try Duration(kubernetes: text) }
    }

    @Test(arguments: [
        (Duration.zero, "0s"),
        (.seconds(30), "30s"),
        (.seconds(120), "2m"),
        (.seconds(3600), "1h"),
        (.seconds(5400), "1h30m"),
        (.milliseconds(500), "500ms"),
        (.milliseconds(1500), "1s500ms"),
        (.seconds(86400), "24h"),
        (.nanoseconds(1_001_001_001), "1s1ms1us1ns"),
        (.seconds(-90), "-1m30s"),
    ])
    func formatsCanonically(duration: Duration, expected: String) {
        #expect(duration.kubernetesText == expected)
    }

    @Test func formattingReadsBackAsTheSameDuration() async {
        await propertyCheck(input: Gen.int64(in: 0 ... .max)) { nanoseconds throws in
            let duration = Duration.nanoseconds(nanoseconds)
            #expect(try Duration(kubernetes: duration.kubernetesText) == duration)
        }
    }

    @Test(arguments: [
        (KubernetesDurationError.missingUnit(afterNumber: "30"),
         #""30" has no unit; use ns, us, ms, s, m or h, e.g. 500ms, 30s, 1m30s"#),
        (.unknownUnit("d"), #""d" is not a unit; use ns, us, ms, s, m or h, e.g. 500ms, 30s, 1m30s"#),
        (.outOfRange, "it is longer than the longest duration (about 292 years)"),
    ])
    func errorsExplainWhatIsAllowed(error: KubernetesDurationError, expected: String) {
        #expect(error.description == expected)
    }
}
