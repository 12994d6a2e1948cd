import CoreMetrics

/// Counts the requests to the API server through swift-metrics:
/// `autotaint_api_requests_total{verb, code}`, one per HTTP exchange (the retry after a
/// 401 is a second one); `code` is the HTTP status, `0` when there was no HTTP answer
/// (connection refused or reset, timeout, TLS failure, cancelled).
public struct KubeRequestMetrics: Sendable {
    public static let requestsName = "autotaint_api_requests_total"

    let factory: any MetricsFactory

    func count(verb: String, code: Int) {
        Counter(label: Self.requestsName, dimensions: [("verb", verb), ("code", String(code))], factory: factory)
            .increment()
    }
}
