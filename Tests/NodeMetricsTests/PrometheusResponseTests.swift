import AutoTaintCore
import CurlHTTP
import Foundation
import Synchronization
import Testing
@testable import NodeMetrics

/// The wall clock the recorded responses were taken at.
private let recordedAt = 1_763_907_230.0

/// Responses as Prometheus 2.42 sends them for `GET /api/v1/query`, with their HTTP status.
private let recorded: [(name: String, status: Int, body: String, expected: Expected)] = [
    ("vector", 200,
     #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1763907229.512,"20.000000000545697"]}]}}"#,
     .value(20.000000000545697)),
    ("vector with labels", 200,
     #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"instance":"node-1:9100","job":"node"},"value":[1763907229.5,"63.4"]}]}}"#,
     .value(63.4)),
    ("scalar", 200,
     #"{"status":"success","data":{"resultType":"scalar","result":[1763907229.9,"42"]}}"#,
     .value(42)),
    ("warnings are fine", 200,
     #"{"status":"success","data":{"resultType":"scalar","result":[1763907229.9,"42"]},"warnings":["w"]}"#,
     .value(42)),
    ("empty", 200,
     #"{"status":"success","data":{"resultType":"vector","result":[]}}"#,
     .reason("empty_result")),
    ("NaN", 200,
     #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1763907229.5,"NaN"]}]}}"#,
     .reason("nan_value")),
    ("+Inf", 200,
     #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1763907229.5,"+Inf"]}]}}"#,
     .reason("infinite_value")),
    ("-Inf scalar", 200,
     #"{"status":"success","data":{"resultType":"scalar","result":[1763907229.5,"-Inf"]}}"#,
     .reason("infinite_value")),
    ("multiple series", 200,
     #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"instance":"node-1:9100"},"value":[1763907229.5,"20"]},{"metric":{"instance":"node-10:9100"},"value":[1763907229.5,"80"]}]}}"#,
     .reason("multiple_series")),
    ("error status", 400,
     #"{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:68: parse error: unclosed left parenthesis"}"#,
     .reason("query_error")),
    ("execution error", 422,
     #"{"status":"error","errorType":"execution","error":"query processing would load too many samples into memory"}"#,
     .reason("query_error")),
    ("proxy error page", 502, "<html><body>Bad Gateway</body></html>", .reason("http_status")),
    ("stale timestamp", 200,
     #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1763907100,"20"]}]}}"#,
     .reason("stale_sample")),
    ("just within staleAfter", 200,
     #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1763907171,"20"]}]}}"#,
     .value(20)),
    ("slightly ahead of our clock", 200,
     #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1763907233,"20"]}]}}"#,
     .value(20)),
    ("far ahead of our clock", 200,
     #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1763907330,"20"]}]}}"#,
     .reason("clock_skew")),
    ("garbage", 200, "\u{1F}\u{8B}\u{8}not json at all", .reason("garbage_body")),
    ("empty body", 200, "", .reason("garbage_body")),
    ("HTML with 200", 200, "<!doctype html><title>Prometheus</title>", .reason("garbage_body")),
    ("JSON but not a query response", 200, #"{"hello":"world"}"#, .reason("garbage_body")),
    ("success without data", 200, #"{"status":"success"}"#, .reason("garbage_body")),
    ("value not a number", 200,
     #"{"status":"success","data":{"resultType":"scalar","result":[1763907229.5,"twenty"]}}"#,
     .reason("garbage_body")),
    ("value as a JSON number", 200,
     #"{"status":"success","data":{"resultType":"scalar","result":[1763907229.5,20]}}"#,
     .reason("garbage_body")),
    ("matrix", 200,
     #"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1763907229.5,"20"]]}]}}"#,
     .reason("unsupported_result")),
    ("string", 200,
     #"{"status":"success","data":{"resultType":"string","result":[1763907229.5,"x"]}}"#,
     .reason("unsupported_result")),
    ("native histogram", 200,
     #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"histogram":[1763907229.5,{"count":"1","sum":"1"}]}]}}"#,
     .reason("unsupported_result")),
    ("not a percentage", 200,
     #"{"status":"success","data":{"resultType":"scalar","result":[1763907229.5,"150"]}}"#,
     .reason("out_of_range")),
    ("negative", 200,
     #"{"status":"success","data":{"resultType":"scalar","result":[1763907229.5,"-3"]}}"#,
     .reason("out_of_range")),
    ("rate overshoot is clamped", 200,
     #"{"status":"success","data":{"resultType":"scalar","result":[1763907229.5,"100.4"]}}"#,
     .value(100)),
]

private enum Expected: CustomStringConvertible {
    case value(Double)
    case reason(String)

    var description: String {
        switch self {
        case let .value(value): "value \(value)"
        case let .reason(reason): "no value (\(reason))"
        }
    }
}

@Test(arguments: recorded.indices)
func recordedResponse(_ index: Int) {
    let (name, status, body, expected) = recorded[index]
    let result = PrometheusResponse.value(
        status: status, body: Array(body.utf8), now: recordedAt, staleAfter: .seconds(60))
    switch (result, expected) {
    case let (.success(value), .value(want)):
        #expect(value == want, "\(name)")
    case let (.failure(noSample), .reason(reason)):
        #expect(noSample.reason == reason, "\(name): \(noSample.detail)")
        #expect(noSample.source == .prometheus)
        #expect(!noSample.detail.isEmpty)
    default:
        Issue.record("\(name): got \(result), expected \(expected)")
    }
}

@Test func detailsSayWhatWasWrong() {
    func detail(_ status: Int, _ body: String) -> String {
        guard case let .failure(noSample) = PrometheusResponse.value(
            status: status, body: Array(body.utf8), now: recordedAt, staleAfter: .seconds(60))
        else { return "" }
        return noSample.detail
    }
    #expect(detail(400, #"{"status":"error","errorType":"bad_data","error":"parse error"}"#)
        == "HTTP 400 error bad_data: parse error")
    #expect(detail(200, #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"instance":"node-1:9100"},"value":[1,"2"]},{"metric":{"instance":"node-10:9100"},"value":[1,"2"]}]}}"#)
        .hasSuffix(#"{instance="node-1:9100"}, {instance="node-10:9100"}"#))
    #expect(detail(200, #"{"status":"success","data":{"resultType":"scalar","result":[1763907100,"1"]}}"#)
        == "the sample is 130.0s old; staleAfter is 1m")
    #expect(detail(503, String(repeating: "x", count: 500)).count < 230)
}

// MARK: - The sampler, with canned transports

private func settings(_ query: String = Config.Prometheus().query) -> Config.Prometheus {
    var settings = Config.Prometheus()
    settings.url = "http://prometheus.monitoring.svc:9090"
    settings.query = query
    settings.timeout = .seconds(2)
    return settings
}

private final class Requests: Sendable {
    let seen = Mutex<[HTTPRequest]>([])
}

@Test func theSamplerSendsOneInstantQueryAndReadsTheValue() async throws {
    let requests = Requests()
    let sampler = PrometheusSampler(settings(), node: "node-1", transport: { request in
        requests.seen.withLock { $0.append(request) }
        return HTTPResponse(status: 200, headers: [:], body: Array(
            #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1763907229.5,"37.5"]}]}}"#.utf8))
    }, wallClock: { recordedAt })
    let results = await sampler.sample([.cpu, .memory])
    #expect(try results[.cpu]?.get() == Sample(percent: 37.5, source: .prometheus))
    #expect(throws: NoSample.self) { try results[.memory]?.get() }
    guard case let .failure(memory)? = results[.memory] else { return }
    #expect(memory.reason == "not_from_prometheus")
    let request = try #require(requests.seen.withLock { $0.first })
    #expect(requests.seen.withLock { $0.count } == 1)
    #expect(request.method == .get)
    #expect(request.timeout == .seconds(2))
    #expect(request.url.hasPrefix("http://prometheus.monitoring.svc:9090/api/v1/query?query=100%20%2A%20"))
    #expect(request.url.contains("instance%3D~%22node-1%28%3A%5B0-9%5D%2B%29%3F%22"))
}

@Test(arguments: [
    (CurlError.Kind.timedOut, "timeout"), (.couldNotConnect, "unreachable"), (.couldNotResolveHost, "unreachable"),
    (.tls, "tls_error"), (.connectionLost, "connection_lost"), (.other, "request_failed"),
])
func requestFailuresAreNoValue(kind: CurlError.Kind, reason: String) async {
    let sampler = PrometheusSampler(settings(), node: "node-1", transport: { _ in
        throw CurlError(kind: kind, code: 28, message: "Operation timed out after 2000 milliseconds",
                        context: "GET http://prometheus.monitoring.svc:9090/api/v1/query")
    })
    let result = await sampler.cpuPercent()
    guard case let .failure(noSample) = result else { Issue.record("got \(result)"); return }
    #expect(noSample.reason == reason)
    #expect(noSample.detail.contains("curl error 28"))
}

@Test func aCancelledQueryIsNoValue() async {
    let sampler = PrometheusSampler(settings(), node: "node-1", transport: { _ in throw CancellationError() })
    guard case let .failure(noSample) = await sampler.cpuPercent() else { Issue.record("a value"); return }
    #expect(noSample.reason == "cancelled")
}

@Test func aTemplateThatCannotTakeTheNameIsNoValueWithoutARequest() async {
    let requests = Requests()
    let sampler = PrometheusSampler(settings("up{instance=~`$node`}"), node: "a`b", transport: { request in
        requests.seen.withLock { $0.append(request) }
        return HTTPResponse(status: 500, headers: [:], body: [])
    })
    guard case let .failure(noSample) = await sampler.cpuPercent() else { Issue.record("a value"); return }
    #expect(noSample.reason == "bad_query")
    #expect(noSample.detail.contains("backtick"))
    #expect(requests.seen.withLock { $0.isEmpty })
}

/// Against a real Prometheus when `AUTOTAINT_TEST_PROMETHEUS_URL` names one (the e2e stack
/// does): the per-query latency over one reused connection.
@Test(.enabled(if: ProcessInfo.processInfo.environment["AUTOTAINT_TEST_PROMETHEUS_URL"] != nil))
func latencyAgainstARealPrometheus() async throws {
    var config = Config.Prometheus()
    config.url = try #require(ProcessInfo.processInfo.environment["AUTOTAINT_TEST_PROMETHEUS_URL"])
    config.query = ProcessInfo.processInfo.environment["AUTOTAINT_TEST_PROMETHEUS_QUERY"] ?? config.query
    let node = ProcessInfo.processInfo.environment["AUTOTAINT_TEST_PROMETHEUS_NODE"] ?? "node-1"
    let sampler = PrometheusSampler(config, node: node)
    _ = await sampler.cpuPercent()
    let clock = ContinuousClock()
    let rounds = 50
    var values = 0
    let elapsed = await clock.measure {
        for _ in 0..<rounds {
            if case .success = await sampler.cpuPercent() { values += 1 }
        }
    }
    print("prometheus query latency: \(elapsed / rounds) per query over \(rounds) queries, \(values) values")
    #expect(values == rounds)
}
