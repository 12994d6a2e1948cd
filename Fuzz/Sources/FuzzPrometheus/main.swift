import AutoTaintCore
import LibFuzzerDriver
import NodeMetrics

/// Fuzz target: the input as the body of a `GET /api/v1/query` answer, read once as a
/// 200 and once as a 503. A value must be a percentage in 0...100 and only ever come
/// with a 2xx status; anything else must be a reason with a stable label.
LibFuzzer.run { bytes in
    // When the seed responses were recorded (Tests/NodeMetricsTests/PrometheusResponseTests).
    let recordedAt = 1_763_907_230.0
    let body = Array(bytes)
    for status in [200, 503] {
        switch PrometheusResponse.value(status: status, body: body, now: recordedAt, staleAfter: .seconds(60)) {
        case .success(let value):
            require(status == 200, "a value \(value) from HTTP \(status)")
            require((0...100).contains(value), "value \(value) outside 0...100")
        case .failure(let reason):
            require(reason.source == .prometheus && !reason.reason.isEmpty, "\(reason)")
            _ = reason.description
        }
    }
}
